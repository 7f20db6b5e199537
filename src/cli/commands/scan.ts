import type { Command } from 'commander';

// Not built yet: registered by the issue that owns this command.
export function register(_program: Command): void {}
