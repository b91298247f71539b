import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { extractReferences, renderTemplate } from '../src/index.js';
import { PROTOTYPE_NAMES, identifierArb, templateArb, textArb } from './arbitraries.js';
import { catchPromptopsError } from './helpers.js';

const sorted = (set: ReadonlySet<string>): string[] => [...set].sort();

describe('extractReferences', () => {
  it('finds top-level variables (the root of dotted names), section names and partials', () => {
    const refs = extractReferences(
      'Hi {{user_name}}, {{{raw}}} {{& amp}} {{a.b.c}} {{#items}}{{name}} {{.}} {{sub.x}}{{/items}}' +
        '{{^empty}}{{inside}}{{/empty}}{{> sig}}{{! a comment {{not_a_var}} }}',
    );
    expect(sorted(refs.variables)).toEqual(['a', 'amp', 'empty', 'items', 'raw', 'user_name']);
    expect(sorted(refs.partials)).toEqual(['sig']);
  });

  it('does not count names inside sections, nor nested section names', () => {
    const refs = extractReferences('{{#a}}{{b}}{{#c}}{{d}}{{/c}}{{^e}}{{/e}}{{/a}}{{^f}}{{g}}{{/f}}');
    expect(sorted(refs.variables)).toEqual(['a', 'f']);
  });

  it('finds partials wherever they are, including inside sections', () => {
    const refs = extractReferences('{{#a}}{{> inner}}{{^b}}{{>deep}}{{/b}}{{/a}}{{>top}}');
    expect(sorted(refs.partials)).toEqual(['deep', 'inner', 'top']);
  });

  it('ignores {{.}} at the top level, comments, and plain text', () => {
    const refs = extractReferences('plain {{.}} {{! {{x}} }} text');
    expect(refs.variables.size).toBe(0);
    expect(refs.partials.size).toBe(0);
  });

  it('follows delimiter changes', () => {
    expect(sorted(extractReferences('{{=<% %>=}}<% x %> {{y}} <%#s%><%/s%>').variables)).toEqual(['s', 'x']);
  });

  it('reports a template that does not parse, naming where it is', () => {
    for (const template of ['{{#a}}open', '{{#a}}{{/b}}', '{{a', '{{/a}}']) {
      const error = catchPromptopsError(() => extractReferences(template, 'slots.signature'));
      expect(error.code).toBe('invalid_template');
      expect(error.message.startsWith('slots.signature: ')).toBe(true);
    }
  });

  it('on generated templates, finds exactly what the generator used at the top level', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(identifierArb, { maxLength: 4 }),
        fc.uniqueArray(identifierArb, { maxLength: 3 }),
        fc.context(),
        (variables, slots, ctx) =>
          fc.assert(
            fc.property(templateArb(variables, slots), (template) => {
              ctx.log(template);
              const refs = extractReferences(template);
              for (const name of refs.variables) expect(variables).toContain(name);
              for (const slot of refs.partials) expect(slots).toContain(slot);
            }),
            { numRuns: 10 },
          ),
      ),
      { numRuns: 50 },
    );
  });
});

describe('renderTemplate: interpolation', () => {
  it('never HTML-escapes, with {{x}}, {{{x}}} or {{&x}}', () => {
    const forbidden = `& " < > ' / \` = <script>alert("x")</script> &amp;`;
    expect(renderTemplate('{{x}}|{{{x}}}|{{& x}}', { x: forbidden })).toBe(`${forbidden}|${forbidden}|${forbidden}`);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (value) => {
        expect(renderTemplate('{{x}}', { x: value })).toBe(value);
      }),
    );
  });

  it('writes numbers and booleans as JSON does, null and missing names as nothing', () => {
    expect(
      renderTemplate('{{a}} {{b}} {{c}} {{d}} {{e}} [{{f}}] [{{missing}}]', {
        a: 85,
        b: 1.21,
        c: true,
        d: false,
        e: -3,
        f: null,
      }),
    ).toBe('85 1.21 true false -3 [] []');
  });

  it('writes objects and arrays as JSON, not [object Object]', () => {
    expect(renderTemplate('{{o}} {{l}}', { o: { a: [1, 'x'] }, l: [1, { b: null }] })).toBe(
      '{"a":[1,"x"]} [1,{"b":null}]',
    );
  });

  it('resolves dotted names one step at a time (mustache spec)', () => {
    expect(renderTemplate('"{{person.name}}" == "{{#person}}{{name}}{{/person}}"', { person: { name: 'Joe' } })).toBe(
      '"Joe" == "Joe"',
    );
    // Broken chain: a.b exists but has no c, and c.name at the top must not be used.
    expect(renderTemplate('"{{a.b.c.name}}" == ""', { a: { b: {} }, c: { name: 'Jim' } })).toBe('"" == ""');
    // Initial resolution: the first part is found in the closest context, the rest only below it.
    expect(
      renderTemplate('{{#a}}{{b.c.d.e.name}}{{/a}}', {
        a: { b: { c: { d: { e: { name: 'Phil' } } } } },
        b: { c: { d: { e: { name: 'Wrong' } } } },
      }),
    ).toBe('Phil');
    expect(renderTemplate('[{{#a}}{{b.c}}{{/a}}]', { a: { b: {} }, b: { c: 'ERROR' } })).toBe('[]');
    expect(renderTemplate('{{items.1.name}}', { items: [{ name: 'a' }, { name: 'b' }] })).toBe('b');
  });

  it('keeps text, whitespace and line endings as written', () => {
    expect(renderTemplate('  {{string}}\r\n\t{{! gone }}x\n', { string: '---' })).toBe('  ---\r\n\tx\n');
    expect(renderTemplate('12345{{! Comment Block! }}67890', {})).toBe('1234567890');
  });

  it('supports delimiter changes', () => {
    expect(renderTemplate('{{=<% %>=}}(<%text%>)', { text: 'Hey!' })).toBe('(Hey!)');
  });

  it('reports a template that does not parse', () => {
    const error = catchPromptopsError(() => renderTemplate('{{#a}}', {}, {}, "prompt 'p' template"));
    expect(error.code).toBe('invalid_template');
    expect(error.message).toContain("prompt 'p' template");
  });
});

describe('renderTemplate: sections', () => {
  it('renders a section over an array once per item, with the item as context', () => {
    expect(renderTemplate('"{{#list}}{{item}}{{/list}}"', { list: [{ item: 1 }, { item: 2 }, { item: 3 }] })).toBe(
      '"123"',
    );
    expect(renderTemplate('"{{#list}}({{.}}){{/list}}"', { list: ['a', 'b', 'c'] })).toBe('"(a)(b)(c)"');
    expect(renderTemplate('"{{#list}}({{.}}){{/list}}"', { list: [1, 2.5, true] })).toBe('"(1)(2.5)(true)"');
    expect(
      renderTemplate('"{{#list}}({{#.}}{{.}}{{/.}}){{/list}}"', {
        list: [
          [1, 2, 3],
          ['a', 'b', 'c'],
        ],
      }),
    ).toBe('"(123)(abc)"');
    expect(renderTemplate('"{{#list}}x{{/list}}"', { list: [] })).toBe('""');
  });

  it('renders a section over an object once, with the object as context and parents still visible', () => {
    expect(renderTemplate('"{{#context}}Hi {{name}}.{{/context}}"', { context: { name: 'Joe' } })).toBe('"Hi Joe."');
    expect(
      renderTemplate('"{{#sec}}{{a}}, {{b}}, {{c.d}}{{/sec}}"', {
        a: 'foo',
        b: 'wrong',
        sec: { b: 'bar' },
        c: { d: 'baz' },
      }),
    ).toBe('"foo, bar, baz"');
    expect(
      renderTemplate('{{#a}}{{#b}}{{#c}}{{one}}{{two}}{{three}}{{/c}}{{/b}}{{/a}}', {
        a: { one: 1 },
        b: { two: 2 },
        c: { three: 3 },
      }),
    ).toBe('123');
  });

  it('renders a section over true once and skips it for false, null, "", [] and missing names', () => {
    expect(renderTemplate('{{#b}}yes{{/b}}', { b: true })).toBe('yes');
    for (const value of [false, null, '', []]) expect(renderTemplate('[{{#b}}yes{{/b}}]', { b: value })).toBe('[]');
    expect(renderTemplate('[{{#missing}}yes{{/missing}}]', {})).toBe('[]');
    expect(renderTemplate('"{{#a.b.c}}Here{{/a.b.c}}"', { a: { b: { c: true } } })).toBe('"Here"');
    expect(renderTemplate('"{{#a.b.c}}Here{{/a.b.c}}"', { a: {} })).toBe('""');
  });

  it('makes any other truthy value the context, so {{.}} prints it (mustache spec "Variable test")', () => {
    expect(renderTemplate("'{{#foo}}{{.}} is {{foo}}{{/foo}}'", { foo: 'bar' })).toBe("'bar is bar'");
    expect(renderTemplate('{{#n}}n={{.}}{{/n}}', { n: 42 })).toBe('n=42');
    expect(renderTemplate('{{#flag}}[{{.}}] {{other}}{{/flag}}', { flag: true, other: 'o' })).toBe('[true] o');
  });

  it('renders an inverted section only for falsy values', () => {
    for (const value of [false, null, '', []]) expect(renderTemplate('{{^b}}none{{/b}}', { b: value })).toBe('none');
    expect(renderTemplate('{{^missing}}none{{/missing}}', {})).toBe('none');
    for (const value of [true, 'x', [1], { a: 1 }, {}])
      expect(renderTemplate('[{{^b}}none{{/b}}]', { b: value })).toBe('[]');
    expect(renderTemplate('"{{^a.b.c}}Not Here{{/a.b.c}}"', { a: {} })).toBe('"Not Here"');
  });

  it('drops standalone section lines (mustache spec)', () => {
    expect(renderTemplate('| This Is\n  {{#boolean}}\n|\n  {{/boolean}}\n| A Line\n', { boolean: true })).toBe(
      '| This Is\n|\n| A Line\n',
    );
    expect(renderTemplate('| This Is\n{{^boolean}}\n|\n{{/boolean}}\n| A Line\n', { boolean: true })).toBe(
      '| This Is\n| A Line\n',
    );
  });
});

describe('renderTemplate: partials (slots)', () => {
  it('renders a partial with the current context', () => {
    expect(renderTemplate('"{{>text}}"', {}, { text: 'from partial' })).toBe('"from partial"');
    expect(renderTemplate('"{{>partial}}"', { text: 'content' }, { partial: '*{{text}}*' })).toBe('"*content*"');
    expect(renderTemplate('{{#user}}{{> card}}{{/user}}', { user: { name: 'Ada' } }, { card: '[{{name}}]' })).toBe(
      '[Ada]',
    );
    expect(renderTemplate('|{{> partial }}|', { boolean: true }, { partial: '[]' })).toBe('|[]|');
  });

  it('inserts an inline partial as is, without indentation (mustache spec)', () => {
    expect(renderTemplate('Hello {{> sig}}!', {}, { sig: 'Bob' })).toBe('Hello Bob!');
    expect(renderTemplate('| {{>partial}} |', {}, { partial: '\t|\t' })).toBe('| \t|\t |');
    expect(renderTemplate('  {{data}}  {{> partial}}\n', { data: '|' }, { partial: '>\n>' })).toBe('  |  >\n>\n');
    expect(renderTemplate('  {{> p}} x\n', {}, { p: 'one\ntwo' })).toBe('  one\ntwo x\n');
  });

  it('indents every line of a standalone partial by the tag indentation (mustache spec)', () => {
    expect(renderTemplate('\\\n {{>partial}}\n/\n', { content: '<\n->' }, { partial: '|\n{{{content}}}\n|\n' })).toBe(
      '\\\n |\n <\n->\n |\n/\n',
    );
    expect(renderTemplate('  {{>partial}}\n>', {}, { partial: '>\n>' })).toBe('  >\n  >>');
    expect(renderTemplate('>\n  {{>partial}}', {}, { partial: '>\n>' })).toBe('>\n  >\n  >');
    expect(renderTemplate('|\r\n{{>partial}}\r\n|', {}, { partial: '>' })).toBe('|\r\n>|');
    expect(renderTemplate('Rules:\n  {{> rules}}\nThanks', {}, { rules: '- be kind\n- greet by name\n' })).toBe(
      'Rules:\n  - be kind\n  - greet by name\nThanks',
    );
  });

  it('indents nested standalone partials cumulatively', () => {
    expect(renderTemplate('a\n  {{> outer}}\nz', {}, { outer: 'b\n  {{> inner}}\n', inner: 'c\nd\n' })).toBe(
      'a\n  b\n    c\n    d\nz',
    );
  });

  it('refuses a partial that names no slot, naming the slot and the place', () => {
    const error = catchPromptopsError(() => renderTemplate('Hi {{> signature}}', {}, {}, "prompt 'greeter' template"));
    expect(error.code).toBe('missing_slot');
    expect(error.kind).toBe('invalid');
    expect(error.message).toContain('signature');
    expect(error.message).toContain("prompt 'greeter' template");
    // Names on Object.prototype are not slots either.
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(catchPromptopsError(() => renderTemplate(`{{> ${name}}}`, {})).code).toBe('missing_slot');
    }
  });

  it('bounds partial recursion with an error, never a stack overflow', () => {
    for (const partials of [{ a: '{{> a}}' }, { a: 'x{{> b}}', b: 'y{{> a}}' }, { a: '{{#t}}{{> a}}{{/t}}' }]) {
      const error = catchPromptopsError(() => renderTemplate('{{> a}}', { t: true }, partials));
      expect(error.code).toBe('slot_recursion');
      expect(error.message).toMatch(/16 levels/);
    }
  });

  it('allows recursion that the data ends', () => {
    const view = { content: 'X', nodes: [{ content: 'Y', nodes: [] }] };
    expect(renderTemplate('{{>node}}', view, { node: '{{content}}<{{#nodes}}{{>node}}{{/nodes}}>' })).toBe('X<Y<>>');
    const chain = Object.fromEntries(
      Array.from({ length: 15 }, (_, i) => [`s${i}`, i === 14 ? 'end' : `{{> s${i + 1}}}`]),
    );
    expect(renderTemplate('{{> s0}}', {}, chain)).toBe('end');
  });

  it('reports a slot that does not parse, naming the slot', () => {
    const error = catchPromptopsError(() => renderTemplate('{{> s}}', {}, { s: '{{#open}}' }));
    expect(error.code).toBe('invalid_template');
    expect(error.message).toContain('slot "s"');
  });
});

describe('renderTemplate: no template can run code or reach the prototype', () => {
  it.each([
    ['{{constructor}}', {}, ''],
    ['{{__proto__}}', {}, ''],
    ['{{#x}}{{constructor.constructor}}{{/x}}', { x: { a: 1 } }, ''],
    ['{{toString}}', {}, ''],
    ['{{valueOf}}{{hasOwnProperty}}{{__defineGetter__}}', {}, ''],
    ['{{a.constructor.name}}', { a: {} }, ''],
    ['{{items.map}}{{items.constructor}}{{items.push}}', { items: [1, 2] }, ''],
    ['{{s.length}}{{s.constructor}}{{s.toUpperCase}}', { s: 'str' }, ''],
    ['{{n.toFixed}}{{b.valueOf}}', { n: 1, b: true }, ''],
    ['{{#__proto__}}x{{/__proto__}}{{#constructor}}y{{/constructor}}', {}, ''],
    ['{{^constructor}}none{{/constructor}}', {}, 'none'],
    ['{{#items}}{{constructor}}{{toString}}{{/items}}', { items: [{}, 'a', 1] }, ''],
    ['{{x.__proto__.polluted}}{{#x.__proto__}}p{{/x.__proto__}}', { x: {} }, ''],
    ['{{items.length}}', { items: [1, 2] }, '2'],
    ['{{constructor}}|{{toString}}', { constructor: 'c', toString: 't' }, 'c|t'],
  ])('%s renders %j as empty or plain data', (template, view, expected) => {
    expect(renderTemplate(template, view as Record<string, unknown>)).toBe(expected);
  });

  it('renders a __proto__ key that is own data as data, and never writes to any prototype', () => {
    const view = JSON.parse('{"__proto__": {"polluted": "yes"}, "x": {}}') as Record<string, unknown>;
    expect(renderTemplate('{{#__proto__}}{{polluted}}{{/__proto__}}|{{__proto__.polluted}}|{{x.polluted}}', view)).toBe(
      'yes|yes|',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never calls functions, getters, toJSON or iterators found in the view', () => {
    const calls: string[] = [];
    const spy = (label: string) =>
      function spied() {
        calls.push(label);
        return `CALLED ${label}`;
      };
    const withGetter = (label: string): object =>
      Object.defineProperty({ plain: 'p' }, 'secret', {
        get: () => {
          calls.push(label);
          return 'GETTER';
        },
        enumerable: true,
      });
    class Instance {
      readonly own = 'own';
      get viaPrototype(): string {
        calls.push('class getter');
        return 'GETTER';
      }
      method(): string {
        calls.push('class method');
        return 'CALLED';
      }
    }
    const makeView = (): Record<string, unknown> => ({
      fn: spy('fn'),
      obj: {
        fn: spy('obj.fn'),
        toString: spy('obj.toString'),
        valueOf: spy('obj.valueOf'),
        toJSON: spy('obj.toJSON'),
        constructor: spy('obj.constructor'),
        then: spy('obj.then'),
        nested: withGetter('obj.nested.secret'),
      },
      g: withGetter('g.secret'),
      arr: Object.assign([{ fn: spy('arr[0].fn') }, 2], {
        [Symbol.iterator]: spy('arr iterator'),
        map: spy('arr.map'),
        toJSON: spy('arr.toJSON'),
      }),
      date: new Date(0),
      instance: new Instance(),
      list: [withGetter('list[0].secret'), spy('list[1]')],
    });
    const names = ['fn', 'obj', 'obj.fn', 'obj.toString', 'obj.toJSON', 'obj.then', 'obj.nested', 'obj.nested.secret'];
    names.push(
      'g',
      'g.secret',
      'arr',
      'arr.map',
      'arr.0.fn',
      'date',
      'date.getTime',
      'instance',
      'instance.viaPrototype',
    );
    names.push('instance.method', 'list', 'list.0.secret', 'list.1', 'constructor', '__proto__', '.');
    const tag = fc.oneof(
      fc.constantFrom(...names).map((name) => `{{${name}}}`),
      fc.constantFrom(...names).map((name) => `{{{${name}}}}`),
      fc
        .tuple(fc.constantFrom(...names.filter((n) => n !== '.')), fc.constantFrom('#', '^'), fc.constantFrom(...names))
        .map(([section, kind, inner]) => `{{${kind}${section}}}[{{${inner}}}]{{/${section}}}`),
    );
    fc.assert(
      fc.property(fc.array(tag, { maxLength: 8 }), (tags) => {
        const output = renderTemplate(tags.join(' '), makeView());
        expect(calls).toEqual([]);
        for (const leak of ['CALLED', 'GETTER', 'function', 'native code', 'undefined', '[object']) {
          expect(output).not.toContain(leak);
        }
      }),
      { numRuns: 500 },
    );
    // And the functions and getters, when interpolated, render as nothing.
    expect(
      renderTemplate('[{{fn}}][{{#fn}}in{{/fn}}][{{^fn}}not{{/fn}}][{{g.secret}}][{{g}}][{{obj}}]', makeView()),
    ).toBe('[][][not][][{"plain":"p"}][{"nested":{"plain":"p"}}]');
    expect(renderTemplate('{{arr}}|{{#arr}}<{{.}}>{{/arr}}', makeView())).toBe('[{},2]|<{}><2>');
    expect(calls).toEqual([]);
  });

  it('never calls code for any template over generated names, including prototype names', () => {
    const dangerous = [...PROTOTYPE_NAMES, '__proto__', 'call', 'apply', 'bind', 'map', 'then', 'caller', 'arguments'];
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            textArb(4),
            fc
              .array(fc.constantFrom(...dangerous, 'x', 'items'), { minLength: 1, maxLength: 3 })
              .map((p) => `{{${p.join('.')}}}`),
            fc
              .tuple(fc.constantFrom(...dangerous, 'x', 'items'), fc.constantFrom(...dangerous))
              .map(([section, inner]) => `{{#${section}}}{{${inner}}}{{/${section}}}`),
          ),
          { maxLength: 6 },
        ),
        (parts) => {
          const template = parts.join('');
          const output = renderTemplate(template, { x: { a: 1 }, items: [{ b: 2 }, 'c'] });
          expect(output).not.toMatch(/function|native code|\[object|undefined/);
        },
      ),
    );
  });
});

describe('renderTemplate: generated templates', () => {
  it('renders deterministically and never throws for declared variables and acyclic slots', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(identifierArb, { maxLength: 3 }),
        fc.dictionary(
          identifierArb,
          fc.oneof(textArb(), fc.integer(), fc.boolean(), fc.array(textArb(3), { maxLength: 2 })),
        ),
        (variables, values) => {
          const view = Object.fromEntries(variables.map((name) => [name, values[name] ?? name]));
          return fc.assert(
            fc.property(templateArb(variables, ['s']), templateArb(variables, []), (template, slot) => {
              const first = renderTemplate(template, view, { s: slot });
              expect(renderTemplate(template, view, { s: slot })).toBe(first);
            }),
            { numRuns: 5 },
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});
