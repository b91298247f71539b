import { z } from 'zod';
import { parseDocument } from 'yaml';
const d = parseDocument('a:\n  __proto__: 1\n  b: 2\n').toJS();
console.log(Object.getOwnPropertyNames(d.a), Object.getPrototypeOf(d.a) === Object.prototype);
console.log(z.record(z.string(), z.json()).safeParse(d.a));
console.log(z.json().safeParse(JSON.parse('{"__proto__": {"x":1}}')));
console.log(z.object({}).catchall(z.json()).safeParse(JSON.parse('{"__proto__": {"x":1}, "y":2}')));
console.log(z.json().safeParse(NaN).success, z.json().safeParse(Infinity).success, z.json().safeParse(-0));
console.log(parseDocument('a: .nan\nb: .inf\nc: -0\nd: 1e21').toJS());
