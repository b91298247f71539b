/**
 * Content-coding negotiation (RFC 9110 12.5.3). `offered` is in the server's order of preference; among
 * codings the client weighs equally the first offered wins (a client saying `gzip, br` gets brotli,
 * the smaller), and identity only when it weighs more than each of them. `*` stands for every coding the
 * header does not name. A malformed weight makes its coding unacceptable rather than failing the request.
 * When nothing is acceptable (even identity excluded) the answer is identity, as the RFC allows.
 */

export type Coding = 'br' | 'gzip';
export type Negotiated = Coding | 'identity';

const ALIASES: Readonly<Record<string, string>> = { 'x-gzip': 'gzip' };

const weightOf = (params: readonly string[]): number => {
  for (const param of params) {
    const [key, value] = param.split('=').map((part) => part.trim().toLowerCase());
    if (key !== 'q') continue;
    return value !== undefined && /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value) ? Number(value) : 0;
  }
  return 1;
};

const parse = (header: string | readonly string[] | undefined): Map<string, number> => {
  const weights = new Map<string, number>();
  for (const line of [header ?? []].flat()) {
    for (const item of line.split(',')) {
      const [rawName = '', ...params] = item.split(';');
      const name = rawName.trim().toLowerCase();
      if (name === '') continue;
      weights.set(ALIASES[name] ?? name, weightOf(params));
    }
  }
  return weights;
};

export const negotiateEncoding = (
  header: string | readonly string[] | undefined,
  offered: readonly Coding[],
): Negotiated => {
  const weights = parse(header);
  if (weights.size === 0) return 'identity';
  const star = weights.get('*');
  let best: Coding | undefined;
  let bestWeight = 0;
  for (const coding of offered) {
    const w = weights.get(coding) ?? star ?? 0;
    if (w > bestWeight) [best, bestWeight] = [coding, w];
  }
  // Identity is always acceptable unless refused; unnamed, it weighs least of all.
  const identity = weights.get('identity') ?? star ?? Number.MIN_VALUE;
  return best === undefined || identity > bestWeight ? 'identity' : best;
};
