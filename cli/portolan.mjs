#!/usr/bin/env node
// The `portolan` bin: loads the TypeScript sources through tsx and runs the CLI (cli/main.ts).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit once stdout and stderr have flushed (a pipe takes large outputs asynchronously); sockets left open
// by an operation must not keep the process alive.
if (process.argv[2] !== 'serve') process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
