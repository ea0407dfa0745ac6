// RFC 1288 section 2.3: {Q1} ::= [{W}|{W}{S}{U}] {C}; {Q2} ::= [{W}{S}][{U}]{H}{C}.

export function buildQuery(user: string, verbose: boolean, forwardTo: string[]): string {
  let q = verbose ? (user || forwardTo.length ? '/W ' : '/W') : '';
  q += user;
  for (const host of forwardTo) q += `@${host}`;
  return q;
}
