import type { SliceMessage } from '../../lambdas/core/broadcast-fan-out';
import { ConfigurationError } from '../../lambdas/core/errors';
import { FAULTS_SETTING, faultHook, InjectedFaultError, readFaultRules } from '../../lambdas/core/fault-injection';

const message = (type: string): SliceMessage => ({
  broadcastId: 'b-1',
  segment: 0,
  totalSegments: 1,
  envelope: '{}',
  type,
  continuation: 0,
});

describe('FAN_OUT_FAULTS', () => {
  it('is no hook at all when unset, so the deployed worker runs without one', () => {
    expect(faultHook(readFaultRules({}))).toBeUndefined();
  });

  it('stops a run of the named type at its afterPosts-th post, as many times as given', () => {
    const hook = faultHook(readFaultRules({ [FAULTS_SETTING]: '[{"messageType":"crash","afterPosts":3,"times":1}]' }))!;

    expect(() => hook(message('crash'), 2)).not.toThrow();
    expect(() => hook(message('other'), 3)).not.toThrow();
    expect(() => hook(message('crash'), 3)).toThrow(InjectedFaultError);
    expect(() => hook(message('crash'), 3)).not.toThrow();
  });

  it('stops every run when times is absent (a poisoned slice)', () => {
    const hook = faultHook(readFaultRules({ [FAULTS_SETTING]: '[{"messageType":"poison","afterPosts":1}]' }))!;
    for (let run = 0; run < 6; run++) expect(() => hook(message('poison'), 1)).toThrow(InjectedFaultError);
  });

  it.each(['not json', '{"messageType":"x","afterPosts":1}', '[{"messageType":"x","afterPosts":0}]'])(
    'refuses %s, naming the setting',
    (value) => {
      expect(() => readFaultRules({ [FAULTS_SETTING]: value })).toThrow(ConfigurationError);
      expect(() => readFaultRules({ [FAULTS_SETTING]: value })).toThrow(FAULTS_SETTING);
    },
  );
});
