/**
 * The one lookup of database engines. The record is keyed by config/engines.ts's table,
 * so an engine added there without a module here does not compile.
 */
import type { DbEngine } from '../types.ts';
import { mysql } from './mysql.ts';
import { postgres } from './postgres.ts';
import type { DatabaseEngine } from './types.ts';

const ENGINES: Readonly<Record<DbEngine, DatabaseEngine>> = { postgres, mysql };

/** Every database engine, in the table's order. */
export const DATABASE_ENGINE_LIST: readonly DatabaseEngine[] = Object.values(ENGINES);

export function databaseEngine(name: DbEngine): DatabaseEngine {
  const engine = ENGINES[name];
  if (!engine) throw new Error(`unknown database engine ${JSON.stringify(name)}`);
  return engine;
}

/** The engine an admin URL's scheme names (postgres://, postgresql://, mysql://), if any. */
export function engineForScheme(scheme: string): DatabaseEngine | undefined {
  return DATABASE_ENGINE_LIST.find((e) => e.adminSchemes.includes(scheme));
}
