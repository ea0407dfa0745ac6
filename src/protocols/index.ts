// The registry: the one list of every protocol. Adding a protocol adds one line here.
import type { Protocol } from '../core/protocol.ts';
import banner from './banner/index.ts';
import chargen from './chargen/index.ts';
import daytime from './daytime/index.ts';
import dict from './dict/index.ts';
import discard from './discard/index.ts';
import dns from './dns/index.ts';
import echo from './echo/index.ts';
import finger from './finger/index.ts';
import ftp from './ftp/index.ts';
import gopher from './gopher/index.ts';
import graphite from './graphite/index.ts';
import imap from './imap/index.ts';
import lmtp from './smtp/lmtp.ts';
import memcached from './memcached/index.ts';
import mysql from './mysql/index.ts';
import ping from './ping/index.ts';
import pop3 from './pop3/index.ts';
import ports from './ports/index.ts';
import postgres from './postgres/index.ts';
import qotd from './qotd/index.ts';
import redis from './redis/index.ts';
import smtp from './smtp/index.ts';
import ssh from './ssh/index.ts';
import time from './time/index.ts';
import whois from './whois/index.ts';

export const protocols: readonly Protocol[] = [ping, ports, banner, echo, discard, chargen, qotd, daytime, time, finger, ftp, gopher, dict, whois, graphite, postgres, mysql, redis, memcached, smtp, lmtp, imap, pop3, ssh, dns];
