// Every protocol, evaluated at once, for tools that need the whole list from the start (the CLI, docs, tests).
// The Worker never imports this: it evaluates a protocol when first asked for (index.ts).
import { loadProtocols } from './index.ts';

export const protocols = await loadProtocols();
