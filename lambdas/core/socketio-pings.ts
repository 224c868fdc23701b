import { type BroadcastAcceptance, type BroadcastProducerDependencies, startBroadcast } from './broadcast-fan-out';
import { createEnvelope } from './envelope';
import { engineIoPing } from './socketio-protocol';

/**
 * The Engine.IO ping sweep: one asynchronous broadcast whose audience is the Socket.IO connections and whose frame is
 * the Engine.IO ping packet (`2`), drained by the broadcast worker like any broadcast (slices, checkpoints, the
 * post budget, at most once per connection). JSON connections are skipped: their clients keep themselves alive
 * (the adapter's heartbeat). The envelope only names the sweep in the fan-out state and the logs; it is never posted.
 */

/** The type a ping sweep is recorded under in the fan-out state (its status route shows it like a broadcast). */
export const PING_SWEEP_TYPE = 'engine.io-ping';

/**
 * Starts one sweep.
 *
 * @example
 * const accepted = await startPingSweep(readFanOut(process.env)); // { broadcastId, state: 'queued', ... }
 */
export function startPingSweep(deps: BroadcastProducerDependencies, now = new Date()): Promise<BroadcastAcceptance> {
  return startBroadcast(deps, {
    envelope: createEnvelope(PING_SWEEP_TYPE, null, { now }),
    audience: { protocol: 'socket.io', frame: engineIoPing },
  });
}
