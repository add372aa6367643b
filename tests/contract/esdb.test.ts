import { EventStoreDbEventStore } from '../../src/eventstore/esdb';
import { describeEventStoreContract } from './eventstore.contract';

const url = process.env.EVENTSTORE_URL;

if (url) {
  describeEventStoreContract('EventStoreDB', async () => {
    const opened: EventStoreDbEventStore[] = [];
    const open = (): EventStoreDbEventStore => {
      const s = EventStoreDbEventStore.fromConnectionString(url);
      opened.push(s);
      return s;
    };
    const store = open();
    await store.ping();
    return {
      store,
      newStore: async () => open(),
      // Streams are unique per run, so nothing needs deleting from the shared server.
      cleanup: async () => {
        await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
      },
    };
  });
} else {
  describe('EventStore contract: EventStoreDB', () => {
    it.skip('EventStoreDB contract suite skipped: EVENTSTORE_URL is not set (no EventStoreDB server on this machine)', () => undefined);
  });
}
