/**
 * How search reads text, the same for every adapter and both sides (what is indexed, what
 * is asked): plain functions, no I/O. Text is normalized (NFKC, lower case, Latin accents
 * folded: `cafe` finds `café`) and cut into tokens of letters, digits and marks. Runs of
 * CJK characters (Han, Hiragana, Katakana, Hangul), which PostgreSQL's parser keeps as one
 * token and whose words have no spaces between them, become overlapping bigrams plus
 * their last character (`消息可靠` → `消息 息可 可靠 靠`): any substring of two or more
 * characters is then a phrase of bigrams, and a single character a prefix of one. This
 * does not depend on the database's LC_CTYPE (the embedded server's is C, where pg_trgm
 * sees no CJK character as part of a word).
 */

/** Longest query accepted, in UTF-16 code units (README "Limits"). */
export const MAX_QUERY_LENGTH = 256;
/** At most this many words or phrases in one query; later ones are ignored. */
export const MAX_QUERY_GROUPS = 16;
/** A token longer than this is not indexed (a URL or a blob without separators). */
export const MAX_TOKEN_LENGTH = 64;

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30FC]+/gu;
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

export const isCjk = (token: string): boolean => CJK.test(token);

/** Lower case, compatibility forms folded, Latin diacritics removed; nothing else changes. */
export function normalize(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .normalize('NFC');
}

/** A CJK run as bigrams and its last character (one character alone stays itself). */
function cjkTokens(run: string, forQuery: boolean): string[] {
  const chars = [...run];
  if (chars.length === 1) return chars;
  const grams: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) grams.push(chars[i]! + chars[i + 1]!);
  // Indexed: the last character too, so that it is the prefix of a token. Asked: only the
  // bigrams, which must stand next to each other (a phrase).
  if (!forQuery) grams.push(chars[chars.length - 1]!);
  return grams;
}

/** The tokens of a word (letters, digits, marks): CJK runs as bigrams, the rest as they are. */
function wordTokens(word: string, forQuery: boolean): string[] {
  const out: string[] = [];
  let last = 0;
  for (const m of word.matchAll(CJK_RUN)) {
    if (m.index > last) out.push(word.slice(last, m.index));
    out.push(...cjkTokens(m[0], forQuery));
    last = m.index + m[0].length;
  }
  if (last < word.length) out.push(word.slice(last));
  return out.filter((t) => t.length > 0 && t.length <= MAX_TOKEN_LENGTH);
}

/** What is indexed of a text, in order: the tokens joined by spaces (PostgreSQL parses each as one word). */
export function indexTerms(text: string): string {
  const out: string[] = [];
  for (const [word] of normalize(text).matchAll(WORD)) out.push(...wordTokens(word, false));
  return out.join(' ');
}

/**
 * A text's index forms for PostgreSQL: `terms`, every token (the words of its tsvector);
 * `substrings`, only the tokens that are not CJK (what pg_trgm searches inside: a CJK
 * query never asks for substrings, its bigrams answer it, so CJK tokens there were dead
 * weight); `stemmed`, what the language's configuration reads: the terms when any token is
 * not CJK, else nothing (stemming leaves bigrams as they are, so a CJK-only text's stemmed
 * vector would only repeat its `simple` one).
 */
export function indexForms(text: string): { terms: string; substrings: string; stemmed: string } {
  const tokens: string[] = [];
  for (const [word] of normalize(text).matchAll(WORD)) tokens.push(...wordTokens(word, false));
  const terms = tokens.join(' ');
  const latin = tokens.filter((t) => !isCjk(t));
  return { terms, substrings: latin.join(' '), stemmed: latin.length > 0 ? terms : '' };
}

/** One part of a query: its tokens must stand next to each other; `prefix`: the last may begin a longer one. */
export interface QueryGroup {
  readonly tokens: readonly string[];
  readonly prefix: boolean;
  /** The words as typed (normalized), for an engine that analyses text itself (Elasticsearch). */
  readonly text: string;
  readonly cjk: boolean;
}

/**
 * A query as words and "quoted phrases"; every group must match. Nothing in it is syntax
 * to any engine: operators, `:*`, backslashes are punctuation, and punctuation separates
 * tokens. A word's last token matches as a prefix (`reli` finds `reliable`), a quoted
 * phrase's does not; a word that splits into several tokens (`e-mail`, `消息可靠`) is a phrase.
 */
export function parseQuery(input: string): QueryGroup[] {
  const groups: QueryGroup[] = [];
  const text = normalize(input);
  // Straight and typographic double quotes, and CJK corner brackets.
  const quoted = /["“”„「」『』]([^"“”„「」『』]*)["“”„「」『』]?/gu;
  let last = 0;
  const add = (chunk: string, phrase: boolean): void => {
    if (phrase) {
      const words = [...chunk.matchAll(WORD)].map(([w]) => w);
      const tokens = words.flatMap((w) => wordTokens(w, true));
      if (tokens.length > 0) groups.push({ tokens, prefix: false, text: words.join(' '), cjk: tokens.some(isCjk) });
      return;
    }
    // Split at white space: what punctuation joins (`e-mail`, `a.b`) stays one group, a phrase.
    for (const spaced of chunk.split(/\s+/)) {
      const parts = [...spaced.matchAll(WORD)].map(([w]) => w);
      const tokens = parts.flatMap((w) => wordTokens(w, true));
      if (tokens.length === 0) continue;
      const word = parts.join(' ');
      const cjk = tokens.some(isCjk);
      // A CJK run's bigrams are exact; a lone CJK character is the prefix of a bigram.
      const prefix = !isCjk(tokens[tokens.length - 1]!) || tokens[tokens.length - 1]!.length === 1;
      groups.push({ tokens, prefix, text: word, cjk });
    }
  };
  for (const m of text.matchAll(quoted)) {
    add(text.slice(last, m.index), false);
    add(m[1] ?? '', true);
    last = m.index + m[0].length;
  }
  add(text.slice(last), false);
  // A token repeated in another group adds nothing.
  const seen = new Set<string>();
  return groups
    .filter((g) => {
      const key = `${g.prefix}:${g.tokens.join(' ')}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .slice(0, MAX_QUERY_GROUPS);
}

/** A lexeme quoted for tsquery input (tokens hold only letters, digits and marks; quoted all the same). */
const lexeme = (token: string): string => `'${token.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/**
 * The groups as tsquery text: each group a phrase (`<->`), prefixes marked `:*`, all
 * joined by `&`. With `prefix: false`, no `:*` (for a stemming configuration); with
 * `phrases: false`, a phrase's tokens joined by `&` instead (a query the GIN index answers
 * exactly, without reading each row's positions: it finds a superset of the phrases).
 * Empty when there is nothing to ask.
 */
export function toTsquery(groups: readonly QueryGroup[], options: { prefix: boolean; phrases?: boolean }): string {
  const join = options.phrases === false ? ' & ' : ' <-> ';
  return groups
    .map((g) => {
      const parts = g.tokens.map((t, i) =>
        options.prefix && g.prefix && i === g.tokens.length - 1 ? `${lexeme(t)}:*` : lexeme(t),
      );
      return parts.length === 1 ? parts[0]! : `(${parts.join(join)})`;
    })
    .join(' & ');
}

/** Whether a query has a phrase (a group of several tokens), which a GIN index cannot decide alone. */
export const hasPhrase = (groups: readonly QueryGroup[]): boolean => groups.some((g) => g.tokens.length > 1);

/**
 * The substrings (LIKE patterns, for pg_trgm) a query also matches by, when every group is
 * one non-CJK word of at least three characters (`liab` finds `reliability`); none otherwise.
 */
export function substringPatterns(groups: readonly QueryGroup[]): string[] {
  if (groups.length === 0) return [];
  if (!groups.every((g) => g.prefix && !g.cjk && g.tokens.length === 1 && g.tokens[0]!.length >= 3)) return [];
  return groups.map((g) => `%${g.tokens[0]!.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** Longest snippet, in characters, before the marks and escapes. */
export const SNIPPET_LENGTH = 160;

/**
 * A snippet of `text` around what the query matched: HTML-escaped, each match in
 * `<mark>…</mark>`. The text is normalized one character at a time to find the matches
 * (accents, case, widths) and shown as written.
 */
export function highlight(text: string, groups: readonly QueryGroup[]): string {
  const chars = [...text];
  // The normalized text and, for each of its UTF-16 units, the index of the character it came from.
  let norm = '';
  const from: number[] = [];
  chars.forEach((c, i) => {
    const n = normalize(c);
    norm += n;
    for (let k = 0; k < n.length; k++) from.push(i);
  });
  const marked = new Array<boolean>(chars.length).fill(false);
  const isWordChar = (s: string | undefined): boolean => s !== undefined && /[\p{L}\p{N}\p{M}]/u.test(s);
  const needles = new Set<{ s: string; wordStart: boolean }>();
  const inWords = substringPatterns(groups).length === 0;
  for (const g of groups) {
    // A CJK run is marked where it stands whole, as asked.
    if (g.cjk) for (const [run] of g.text.matchAll(CJK_RUN)) needles.add({ s: run, wordStart: false });
    for (const t of g.tokens) if (!isCjk(t)) needles.add({ s: t, wordStart: inWords });
  }
  for (const { s, wordStart } of needles) {
    for (let at = norm.indexOf(s); at !== -1; at = norm.indexOf(s, at + 1)) {
      if (wordStart && at > 0 && isWordChar(norm[at - 1]) && !isCjk(norm[at - 1]!)) continue;
      for (let k = at; k < at + s.length; k++) marked[from[k]!] = true;
    }
  }
  const first = marked.indexOf(true);
  let start = 0;
  if (chars.length > SNIPPET_LENGTH && first > SNIPPET_LENGTH / 4) start = first - Math.floor(SNIPPET_LENGTH / 4);
  const end = Math.min(chars.length, start + SNIPPET_LENGTH);
  let out = start > 0 ? '…' : '';
  let open = false;
  for (let i = start; i < end; i++) {
    if (marked[i] && !open) out += '<mark>';
    if (!marked[i] && open) out += '</mark>';
    open = marked[i]!;
    out += escapeHtml(chars[i]!);
  }
  if (open) out += '</mark>';
  if (end < chars.length) out += '…';
  return out;
}
