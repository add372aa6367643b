import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config';
import { renderEmail } from '../workers/emails/templates';
import { EmailJob, EmailKind } from '../workers/queues';
import { wantsHelp } from './common';

const HELP = `Usage: npm run email:preview [-- --out DIR]

Renders every email (text and HTML) with sample data into DIR (default .data/email-preview),
one .txt and one .html file per kind, using PRODUCT_NAME, APP_BASE_URL and RESET_PASSWORD_URL
from the environment.`;

const SAMPLES: Record<EmailKind, Omit<EmailJob, 'kind'>> = {
  'verify-email': {
    to: 'ada@example.com',
    name: 'Ada',
    tokenId: '00000000-0000-4000-8000-000000000001',
    expiresAt: new Date(Date.now() + 24 * 3600e3).toISOString(),
  },
  'already-registered': { to: 'ada@example.com', name: 'Ada' },
  'reset-password': {
    to: 'ada@example.com',
    name: 'Ada',
    tokenId: '00000000-0000-4000-8000-000000000002',
    expiresAt: new Date(Date.now() + 30 * 60e3).toISOString(),
  },
  'password-changed': { to: 'ada@example.com', name: 'Ada' },
  'email-change-new': {
    to: 'ada@new.example.com',
    name: 'Ada',
    tokenId: '00000000-0000-4000-8000-000000000003',
    userId: '00000000-0000-4000-8000-00000000000a',
    expiresAt: new Date(Date.now() + 24 * 3600e3).toISOString(),
  },
  'email-change-old': { to: 'ada@example.com', name: 'Ada', newEmail: 'ada@new.example.com' },
  'email-in-use': { to: 'grace@example.com', name: 'Grace' },
  'account-deactivated': { to: 'ada@example.com', name: 'Ada' },
};

function main(): void {
  const args = process.argv.slice(2);
  if (wantsHelp(args)) {
    console.log(HELP);
    return;
  }
  const i = args.indexOf('--out');
  const out = path.resolve(i >= 0 && args[i + 1] ? args[i + 1] : path.join(process.env.DATA_DIR ?? '.data', 'email-preview'));
  // Sample links only: a throwaway secret, never the real TOKEN_SECRET.
  const config = loadConfig(process.env, {
    jwtSecret: 'preview-only-secret-not-used-for-anything-real-000',
    tokenSecret: 'preview-only-secret-not-used-for-anything-real-000',
  });
  mkdirSync(out, { recursive: true });
  for (const [kind, sample] of Object.entries(SAMPLES) as [EmailKind, Omit<EmailJob, 'kind'>][]) {
    const mail = renderEmail(
      { kind, ...sample },
      {
        productName: config.productName,
        appBaseUrl: config.appBaseUrl,
        resetPasswordUrl: config.resetPasswordUrl,
        tokenSecret: 'preview-only',
      },
    );
    writeFileSync(path.join(out, `${kind}.txt`), `To: ${mail.to}\nSubject: ${mail.subject}\n\n${mail.text}\n`);
    writeFileSync(path.join(out, `${kind}.html`), mail.html);
  }
  console.log(`Wrote ${Object.keys(SAMPLES).length * 2} files to ${out}`);
}

main();
