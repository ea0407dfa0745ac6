// beanstalkd session driver (doc/protocol.txt): one command, one reply, over the codec.
import type { Conn } from '../../core/conn.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { describeReply, encodeCommand, parseYaml, replyFrame, type Reply, type YamlValue } from './codec.ts';

/** Replies that are errors whatever the command (protocol.txt "general errors"). */
const GENERAL_ERRORS: Record<string, string> = {
  OUT_OF_MEMORY: 'the server is out of memory',
  INTERNAL_ERROR: 'the server reports an internal error',
  BAD_FORMAT: 'the server could not parse the command (BAD_FORMAT)',
  UNKNOWN_COMMAND: 'the server does not know this command (UNKNOWN_COMMAND)',
  DRAINING: 'the server is draining and accepts no new jobs (DRAINING)',
  JOB_TOO_BIG: 'the job is larger than the server\'s max-job-size (JOB_TOO_BIG)',
  EXPECTED_CRLF: 'the server expected CRLF after the job body (EXPECTED_CRLF)',
};

export interface Job {
  id: number;
  body: Uint8Array;
}

export class BeanstalkClient {
  private readonly frame;

  constructor(
    readonly conn: Conn,
    maxBody?: number,
  ) {
    this.frame = replyFrame(maxBody);
  }

  /** Sends one command and reads its reply; general errors are thrown, other statuses returned. */
  async call(words: readonly (string | number)[], body?: Uint8Array): Promise<Reply> {
    await this.conn.write(encodeCommand(words, body), { decode: `${words.join(' ')}${body ? ` + ${body.length} bytes` : ''}` });
    const r = await this.conn.readFrame(this.frame, 'beanstalkd reply', describeReply);
    const general = GENERAL_ERRORS[r.status];
    if (general) throw new ServerError(general, { status: r.status });
    return r;
  }

  /** A reply whose status must be one of `ok`; NOT_FOUND and others are thrown in the server's word. */
  async expect(words: readonly (string | number)[], ok: readonly string[], body?: Uint8Array): Promise<Reply> {
    const r = await this.call(words, body);
    if (!ok.includes(r.status)) throw new ServerError(`${words[0]}: ${r.status}${r.args.length ? ` ${r.args.join(' ')}` : ''}${r.status === 'NOT_FOUND' ? ' (no such job or tube, or not reserved by this connection)' : ''}`, { status: r.status });
    return r;
  }

  async yaml(words: readonly (string | number)[]): Promise<Record<string, YamlValue> | string[]> {
    const r = await this.expect(words, ['OK']);
    return parseYaml(r.body!);
  }

  async dict(words: readonly (string | number)[]): Promise<Record<string, YamlValue>> {
    const y = await this.yaml(words);
    if (Array.isArray(y)) throw new ProtocolError(`${words[0]} answered a list, not a mapping`);
    return y;
  }

  async list(words: readonly (string | number)[]): Promise<string[]> {
    const y = await this.yaml(words);
    if (!Array.isArray(y)) throw new ProtocolError(`${words[0]} answered a mapping, not a list`);
    return y;
  }
}

/** The job of a RESERVED or FOUND reply. */
export function jobOf(r: Reply): Job {
  const id = r.args[0];
  if (!id || !/^\d+$/.test(id) || !r.body) throw new ProtocolError(`${r.status} has no job id`);
  return { id: Number(id), body: r.body };
}

