// undici's pool module on its own (see undici-handler.ts for why not the package index); it exports the class as
// `module.exports`, typed here from the package's own declarations.
declare module 'undici/lib/dispatcher/pool.js' {
  const Pool: typeof import('undici').Pool;
  export default Pool;
}
