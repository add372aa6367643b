import { PostgresEventStore } from '../../src/eventstore/postgres';
import { createTestDatabase } from '../helpers/db';
import { describeEventStoreContract } from './eventstore.contract';

describeEventStoreContract('PostgreSQL', async () => {
  const db = await createTestDatabase('contract');
  const open = (): PostgresEventStore => PostgresEventStore.fromConfig({ connectionString: db.url, max: 4 });
  const store = open();
  await store.migrate();
  const opened: PostgresEventStore[] = [store];
  return {
    store,
    newStore: async () => {
      const s = open();
      opened.push(s);
      return s;
    },
    cleanup: async () => {
      // Closing twice is harmless for tests that already closed their own stores.
      await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
      await db.drop();
    },
  };
});
