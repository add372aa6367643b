import { Writable } from 'node:stream';
import { createLogger, logFormatFor } from '../../src/infra/logger';
import { LogFormat } from '../../src/config';

const sink = (): { stream: Writable; text: () => string } => {
  const chunks: string[] = [];
  return { stream: new Writable({ write: (c, _e, cb) => (chunks.push(String(c)), cb()) }), text: () => chunks.join('') };
};

describe('log format', () => {
  it.each([
    [null, 'development', true, 'pretty'],
    [null, 'test', true, 'pretty'],
    [null, 'development', false, 'json'],
    [null, 'production', true, 'json'],
    [null, 'production', false, 'json'],
    ['json', 'development', true, 'json'],
    ['pretty', 'production', false, 'pretty'],
  ] as const)('LOG_FORMAT=%p, NODE_ENV=%s, stdout a TTY: %p → %s', (configured, env, tty, expected) => {
    expect(logFormatFor(configured, env, tty)).toBe(expected);
  });

  it('pretty: a readable line (time, level, message, fields), not JSON, and secrets still redacted', () => {
    const out = sink();
    createLogger({ level: 'info', format: 'pretty', destination: out.stream }).info(
      { requestId: 'r-1', body: { password: 'hunter2 hunter2' } },
      'request',
    );
    const line = out.text();
    expect(() => JSON.parse(line)).toThrow();
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: request\n/);
    expect(line).toContain('requestId: "r-1"');
    expect(line).not.toContain('hunter2');
    expect(line).not.toMatch(/\u001b\[/); // no colours where no terminal shows them
  });

  it('json: one JSON object a line, secrets redacted', () => {
    const out = sink();
    const format: LogFormat = 'json';
    createLogger({ level: 'info', format, destination: out.stream }).info(
      { requestId: 'r-2', body: { password: 'hunter2 hunter2' } },
      'request',
    );
    const parsed = JSON.parse(out.text()) as Record<string, unknown>;
    expect(parsed).toMatchObject({ level: 30, msg: 'request', requestId: 'r-2', body: { password: '[redacted]' } });
  });
});
