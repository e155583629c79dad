/** `tunnelplane migrate`: applies the database's pending migrations and says which. */
import { connectStore } from '../store/index.js';
import { loadConfigLoose, serverFlags } from './server-config.js';

function databaseUrl(argv: string[]) {
  const f = serverFlags(argv);
  const config = loadConfigLoose(f.config, f.database);
  return config;
}

/** Connects without migrating, then applies what is pending. */
export async function migrateCommand(argv: string[]) {
  const url = databaseUrl(argv);
  const { migrate, close } = await connectStore(url, { migrate: false });
  const applied = await migrate();
  await close();
  process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'the database is up to date\n');
}
