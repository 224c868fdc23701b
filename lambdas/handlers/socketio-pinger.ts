import middy from '@middy/core';
import { logger, observability } from '../core/observability';
import { startPingSweep } from '../core/socketio-pings';
import { readFanOut } from '../core/websocket-service';

/**
 * Run by its schedule (`schedules.socketIoPings`: an EventBridge rule on AWS, a timer locally): starts one Engine.IO
 * ping sweep over the Socket.IO connections (`socketio-pings.ts`); the broadcast worker posts the pings.
 */

const fanOut = readFanOut(process.env);

export const handler = middy()
  .use(observability())
  .handler(async () => {
    const accepted = await startPingSweep(fanOut);
    logger.info('socket.io ping sweep queued', { broadcastId: accepted.broadcastId, slices: accepted.slices });
    return accepted;
  });
