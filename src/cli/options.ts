/**
 * The options every command sees (`--config`). Kept apart from `main.ts` so a command
 * imports this type without importing the commander tree that imports it lazily.
 */
export interface GlobalOptions {
  config?: string;
}
