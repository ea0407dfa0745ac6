// The registry: the one list of every protocol. Adding a protocol adds one line here.
import type { Protocol } from '../core/protocol.ts';
import banner from './banner/index.ts';
import chargen from './chargen/index.ts';
import daytime from './daytime/index.ts';
import dict from './dict/index.ts';
import discard from './discard/index.ts';
import echo from './echo/index.ts';
import finger from './finger/index.ts';
import gopher from './gopher/index.ts';
import graphite from './graphite/index.ts';
import ping from './ping/index.ts';
import ports from './ports/index.ts';
import qotd from './qotd/index.ts';
import time from './time/index.ts';
import whois from './whois/index.ts';

export const protocols: readonly Protocol[] = [ping, ports, banner, echo, discard, chargen, qotd, daytime, time, finger, gopher, dict, whois, graphite];
