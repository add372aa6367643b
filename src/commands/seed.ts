import { CommandContext } from './context';

/** Data every installation starts with, appended as events once (idempotent across restarts). */
export async function seedAtStart(_cmd: CommandContext): Promise<void> {
  // The default service catalogue is added here by the services feature.
}
