#!/usr/bin/env node
// The `portolan` bin: loads the TypeScript sources through tsx and runs the CLI (cli/main.ts).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
if (process.argv[2] !== 'serve') setImmediate(() => process.exit(code));
