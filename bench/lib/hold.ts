/**
 * --hold: the stack stays up after the sign-ins so that any load tool can be pointed at the very
 * app process the scenarios will measure. Tokens go to files only this user can read (removed
 * with the rest at the end), not to the terminal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { log } from './progress';
import type { Session } from './sessions';
import { onCleanup } from './stack';

export async function hold(o: {
  url: string;
  appPid: number | undefined;
  apiProcesses: number;
  tokenTtlSeconds: number;
  reader: Session | undefined;
  admin: Session | null;
}): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-bench-hold-'));
  onCleanup('remove hold tokens', async () => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, token: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, token, { mode: 0o600 });
    return file;
  };
  const reader = o.reader ? write('reader.token', o.reader.accessToken) : null;
  const admin = o.admin ? write('admin.token', o.admin.accessToken) : null;
  log(
    `hold: the app is up at ${o.url} (pid ${o.appPid}, API_PROCESSES=${o.apiProcesses}); access tokens valid for ${o.tokenTtlSeconds} s:`,
  );
  if (reader) {
    log(`  reader (GET /api/auth/me, /api/profile): ${reader}`);
    log(`  e.g. npx autocannon -c 16 -d 5 -H "authorization: Bearer $(cat ${reader})" ${o.url}/api/auth/me`);
  }
  if (admin) log(`  admin (GET /api/users, POST /api/permissions): ${admin}`);
  log(`  press Enter (or kill -USR2 ${process.pid}) to run the scenarios against it; Ctrl-C stops and cleans up`);
  await new Promise<void>((resolve) => {
    // Without a terminal stdin may be at its end already: only a line or the signal goes on.
    const rl = readline.createInterface({ input: process.stdin });
    const go = () => {
      rl.close();
      process.off('SIGUSR2', go);
      resolve();
    };
    rl.once('line', go);
    process.once('SIGUSR2', go);
  });
}
