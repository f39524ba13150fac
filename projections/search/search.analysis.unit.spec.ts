import { describe, expect, it } from 'vitest';
import {
  hasPhrase,
  highlight,
  indexForms,
  indexTerms,
  normalize,
  parseQuery,
  substringPatterns,
  toTsquery,
} from './search.analysis.js';

describe('search analysis', () => {
  it('normalizes case, widths and Latin accents, and keeps other scripts', () => {
    expect(normalize('Café CRÈME Ｆｕｌｌ')).toBe('cafe creme full');
    expect(normalize('Straße ñandú')).toBe('straße nandu');
    expect(normalize('がぎ 한국어 Привет')).toBe('がぎ 한국어 привет');
  });

  it('indexes CJK runs as bigrams and their last character, and the rest as words', () => {
    expect(indexTerms('消息可靠')).toBe('消息 息可 可靠 靠');
    expect(indexTerms('新的iPhone用户')).toBe('新的 的 iphone 用户 户');
    expect(indexTerms('메시지 신뢰성')).toBe('메시 시지 지 신뢰 뢰성 성');
    expect(indexTerms("don't  panic: a&b <-> c:*")).toBe('don t panic a b c');
    expect(indexTerms('x'.repeat(65))).toBe('');
  });

  it('keeps for substrings only the tokens that are not CJK, and stems only a text that has one', () => {
    expect(indexForms('新的iPhone用户')).toEqual({
      terms: '新的 的 iphone 用户 户',
      substrings: 'iphone',
      stemmed: '新的 的 iphone 用户 户',
    });
    expect(indexForms('消息可靠')).toEqual({ terms: '消息 息可 可靠 靠', substrings: '', stemmed: '' });
    expect(indexForms('Meetings today')).toEqual({
      terms: 'meetings today',
      substrings: 'meetings today',
      stemmed: 'meetings today',
    });
  });

  it('parses words (prefixes), quoted phrases and CJK runs (bigram phrases), never syntax', () => {
    expect(parseQuery('Reli "message delivery" 可靠性 消')).toEqual([
      { tokens: ['reli'], prefix: true, text: 'reli', cjk: false },
      { tokens: ['message', 'delivery'], prefix: false, text: 'message delivery', cjk: false },
      { tokens: ['可靠', '靠性'], prefix: false, text: '可靠性', cjk: true },
      { tokens: ['消'], prefix: true, text: '消', cjk: true },
    ]);
    expect(parseQuery('e-mail')).toEqual([{ tokens: ['e', 'mail'], prefix: true, text: 'e mail', cjk: false }]);
    for (const hostile of ["'", '\\', '&|!():*<->', '\u0000', '\uD800', '\u200F\u202E', '😀', '*', '""']) {
      expect(parseQuery(hostile)).toEqual([]);
    }
    expect(parseQuery('word '.repeat(40))).toHaveLength(1);
    expect(parseQuery(Array.from({ length: 40 }, (_, i) => `w${i}`).join(' '))).toHaveLength(16);
  });

  it('builds tsquery text from tokens only, quoted', () => {
    const groups = parseQuery('reli "a b" 消息');
    expect(toTsquery(groups, { prefix: true })).toBe("'reli':* & ('a' <-> 'b') & '消息'");
    expect(toTsquery(groups, { prefix: false })).toBe("'reli' & ('a' <-> 'b') & '消息'");
    // For the GIN index: a phrase's tokens as words.
    expect(toTsquery(groups, { prefix: true, phrases: false })).toBe("'reli':* & ('a' & 'b') & '消息'");
    expect(hasPhrase(groups)).toBe(true);
    expect(hasPhrase(parseQuery('reli 消'))).toBe(false);
    expect(substringPatterns(parseQuery('liab deliv'))).toEqual(['%liab%', '%deliv%']);
    expect(substringPatterns(parseQuery('li'))).toEqual([]);
    expect(substringPatterns(parseQuery('"liab"'))).toEqual([]);
  });

  it('highlights matches in the text as written, HTML-escaped, cut around the first match', () => {
    expect(highlight('<b>Café</b> & "more"', parseQuery('cafe'))).toBe(
      '&lt;b&gt;<mark>Café</mark>&lt;/b&gt; &amp; &quot;more&quot;',
    );
    expect(highlight('我们的消息可靠性', parseQuery('消息可靠'))).toBe('我们的<mark>消息可靠</mark>性');
    const long = `${'lorem '.repeat(60)}needle ${'ipsum '.repeat(60)}`;
    const snippet = highlight(long, parseQuery('needle'));
    expect(snippet.startsWith('…')).toBe(true);
    expect(snippet.endsWith('…')).toBe(true);
    expect(snippet).toContain('<mark>needle</mark>');
    expect(highlight('a\u0000b \uD800 😀', parseQuery('b'))).toBe('a\u0000<mark>b</mark> \uD800 😀');
  });
});
