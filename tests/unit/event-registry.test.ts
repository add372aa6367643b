import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decode, EVENT_TYPES, unhandled } from '../../src/events/registry';
import { RecordedEvent } from '../../src/eventstore/types';
import { auditProjection } from '../../src/projections/audit';
import { projection, reactor } from '../../src/projections/projection';

const EVENTS_DIR = path.join(__dirname, '..', '..', 'src', 'events');

let position = 0n;
const recorded = (type: string, data: Record<string, unknown>): RecordedEvent => ({
  id: `e${++position}`,
  type,
  streamId: 'content-c1',
  revision: position,
  position: { commit: position, prepare: position },
  data,
  metadata: {},
  createdAt: new Date('2030-01-01T00:00:00.000Z'),
});

describe('the event registry', () => {
  it('names every event type declared in src/events, so the audit log records each one', () => {
    const declared = readdirSync(EVENTS_DIR)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(path.join(EVENTS_DIR, f), 'utf8').matchAll(/\btype: '([A-Z]\w+)'/g)].map((m) => m[1]));
    expect(declared.length).toBeGreaterThan(30);
    expect([...new Set(declared)].filter((t) => !(EVENT_TYPES as readonly string[]).includes(t))).toEqual([]);
    expect(new Set(auditProjection.handles)).toEqual(new Set(declared));
  });

  it('refuses a stored event of a type it does not know instead of guessing', () => {
    expect(decode(recorded('ContentDeleted', { at: 'x' }))).toMatchObject({ type: 'ContentDeleted', data: { at: 'x' } });
    expect(() => decode(recorded('ContentArchived', {}))).toThrow('unknown event type ContentArchived in content-c1');
  });

  it('lets a reactor or projection list only event types that exist, and hands its handler just those, typed', async () => {
    const seen: string[] = [];
    const r = reactor({
      name: 'test',
      handles: ['ContentCreated', 'ContentDeleted'],
      react(e) {
        switch (e.type) {
          case 'ContentCreated':
            seen.push(`created ${e.data.title}`);
            return Promise.resolve();
          case 'ContentDeleted':
            seen.push(`deleted at ${e.data.at}`);
            return Promise.resolve();
          // @ts-expect-error a case for a type the reactor does not list does not compile
          case 'ContentUpdated':
            return Promise.resolve();
          default:
            return unhandled(e);
        }
      },
    });
    for (const e of [
      recorded('ContentCreated', { title: 'Hello', body: '', authorId: 'u1' }),
      recorded('ContentUpdated', { changes: { title: 'Bye' } }),
      recorded('UserRestored', { at: 'y' }),
      recorded('ContentDeleted', { at: 'z' }),
    ]) {
      await r.react(e);
    }
    expect(seen).toEqual(['created Hello', 'deleted at z']);

    const noop = () => Promise.resolve();
    // @ts-expect-error 'ContentArchived' is no event type
    projection({ name: 'test', version: 1, tables: [], setup: noop, handles: ['ContentCreated', 'ContentArchived'], apply: noop });
    // @ts-expect-error nor for a reactor
    reactor({ name: 'test', handles: ['ContentArchived'], react: noop });
  });
});
