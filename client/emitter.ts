/** Any listener: the adapter passes event-specific arguments (see `RealtimeSocketEvents` in `socket.ts`). */
// biome-ignore lint/suspicious/noExplicitAny: listeners are user callbacks typed per event at the public surface
export type Listener = (...args: any[]) => void;

/**
 * The small `on` / `once` / `off` / `emit` event emitter that socket.io-client users know, without Node's
 * `EventEmitter` (the browser build must have no runtime dependency) and without Node's special case that
 * throws on an unhandled `error` event: an error frame nobody listens to must not crash the page.
 *
 * @example
 * const emitter = new Emitter();
 * emitter.once('ready', (value) => console.log(value));
 * emitter.emitLocal('ready', 42); // logs 42, then the listener is gone
 */
export class Emitter {
  private readonly listenersByEvent = new Map<string, Listener[]>();
  private readonly anyListeners: Listener[] = [];

  /**
   * Adds a listener for an event.
   *
   * @example
   * socket.on('notification', (data) => show(data.title));
   */
  on(event: string, listener: Listener): this {
    const listeners = this.listenersByEvent.get(event) ?? [];
    listeners.push(listener);
    this.listenersByEvent.set(event, listeners);
    return this;
  }

  /**
   * Adds a listener that runs once, then removes itself.
   *
   * @example
   * socket.once('connect', () => console.log('first connect'));
   */
  once(event: string, listener: Listener): this {
    const wrapper: Listener = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    (wrapper as Listener & { original?: Listener }).original = listener;
    return this.on(event, wrapper);
  }

  /**
   * Removes one listener, every listener of an event (no listener given), or every listener (no argument).
   *
   * @example
   * socket.off('chat', onChat);
   */
  off(event?: string, listener?: Listener): this {
    if (event === undefined) {
      this.listenersByEvent.clear();
      this.anyListeners.length = 0;
      return this;
    }
    if (listener === undefined) {
      this.listenersByEvent.delete(event);
      return this;
    }
    const listeners = this.listenersByEvent.get(event);
    if (!listeners) return this;
    const index = listeners.findIndex(
      (candidate) => candidate === listener || (candidate as Listener & { original?: Listener }).original === listener,
    );
    if (index >= 0) listeners.splice(index, 1);
    if (listeners.length === 0) this.listenersByEvent.delete(event);
    return this;
  }

  /**
   * Adds a listener called for every event with the event name first (socket.io-client's `onAny`).
   *
   * @example
   * socket.onAny((event, ...args) => console.debug(event, args));
   */
  onAny(listener: Listener): this {
    this.anyListeners.push(listener);
    return this;
  }

  /**
   * Removes a listener added with `onAny`, or all of them.
   *
   * @example
   * socket.offAny(logEverything);
   */
  offAny(listener?: Listener): this {
    if (listener === undefined) this.anyListeners.length = 0;
    else {
      const index = this.anyListeners.indexOf(listener);
      if (index >= 0) this.anyListeners.splice(index, 1);
    }
    return this;
  }

  /**
   * The listeners currently registered for an event.
   *
   * @example
   * if (socket.listeners('error').length === 0) console.warn('nobody handles error frames');
   */
  listeners(event: string): Listener[] {
    return [...(this.listenersByEvent.get(event) ?? [])];
  }

  /**
   * Calls the listeners of an event in the order they were added. A listener that throws does not stop the
   * others: the error is reported asynchronously, as a browser reports an exception in an event handler.
   *
   * @example
   * emitter.emitLocal('disconnect', 'transport close');
   */
  emitLocal(event: string, ...args: unknown[]): void {
    for (const listener of [...this.anyListeners]) this.callSafely(listener, [event, ...args]);
    for (const listener of this.listeners(event)) this.callSafely(listener, args);
  }

  private callSafely(listener: Listener, args: unknown[]): void {
    try {
      listener(...args);
    } catch (error) {
      setTimeout(() => {
        throw error;
      }, 0);
    }
  }
}
