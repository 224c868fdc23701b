/** The fixed names the emulator reports for the API it plays, so events look like a deployed stage's. */
export interface ApiIdentity {
  /** API id, as in `{apiId}.execute-api.{region}.amazonaws.com`. */
  apiId: string;
  stage: string;
  region: string;
  accountId: string;
}

export const localWebSocketApi: ApiIdentity = {
  apiId: 'localws0001',
  stage: 'local',
  region: 'us-east-1',
  accountId: '123456789012',
};

export const localHttpApi: ApiIdentity = {
  apiId: 'localhttp01',
  stage: '$default',
  region: 'us-east-1',
  accountId: '123456789012',
};
