import { defaultProvider } from '../../lambdas/bundling/env-credential-provider';

describe('the environment-only credential provider of the Lambda bundles', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("returns the execution role's credentials from the environment, session token included", async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAUNITTEST';
    process.env.AWS_SECRET_ACCESS_KEY = 'unit-test-secret';
    process.env.AWS_SESSION_TOKEN = 'unit-test-session';

    await expect(defaultProvider()()).resolves.toMatchObject({
      accessKeyId: 'ASIAUNITTEST',
      secretAccessKey: 'unit-test-secret',
      sessionToken: 'unit-test-session',
    });
  });

  it.each([
    [['AWS_ACCESS_KEY_ID'], 'AWS_ACCESS_KEY_ID is not set'],
    [['AWS_SECRET_ACCESS_KEY'], 'AWS_SECRET_ACCESS_KEY is not set'],
    [['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'], 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set'],
  ])('without %j fails with an error that names what is missing', async (missing, named) => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAUNITTEST';
    process.env.AWS_SECRET_ACCESS_KEY = 'unit-test-secret';
    for (const name of missing) delete process.env[name];

    const error = (await defaultProvider()().catch((caught: unknown) => caught)) as Error;

    expect(error.name).toBe('CredentialsProviderError');
    expect(error.message).toContain(`No AWS credentials: ${named}.`);
  });
});
