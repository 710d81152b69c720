/**
 * HTML reduced to readable plain text, for mail bodies and scraped pages: scripts, styles, the head
 * and comments are removed, block elements (paragraphs, line breaks, list items, headings, table
 * rows) become line breaks, other tags vanish, character references are decoded, and spacing is
 * tidied (runs of spaces collapsed, at most one blank line between blocks). It is a tolerant
 * scanner over the markup, not a full HTML parser: broken markup degrades to text, never to an error.
 */

// Latin-1 supplement names, U+00A0 to U+00FF in order.
const LATIN1_NAMES =
  "nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 " +
  "acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde " +
  "Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute " +
  "Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde " +
  "auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute " +
  "ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml";

const NAMED_ENTITIES: Map<string, string> = (() => {
  const map = new Map<string, string>();
  LATIN1_NAMES.split(" ").forEach((name, i) => map.set(name, String.fromCharCode(0xa0 + i)));
  const others: Record<string, number> = {
    amp: 0x26, lt: 0x3c, gt: 0x3e, quot: 0x22, apos: 0x27,
    ndash: 0x2013, mdash: 0x2014, lsquo: 0x2018, rsquo: 0x2019, sbquo: 0x201a, ldquo: 0x201c,
    rdquo: 0x201d, bdquo: 0x201e, hellip: 0x2026, bull: 0x2022, trade: 0x2122, euro: 0x20ac,
    dagger: 0x2020, Dagger: 0x2021, permil: 0x2030, lsaquo: 0x2039, rsaquo: 0x203a, ensp: 0x2002,
    emsp: 0x2003, thinsp: 0x2009, zwnj: 0x200c, zwj: 0x200d, OElig: 0x152, oelig: 0x153,
    Scaron: 0x160, scaron: 0x161, Yuml: 0x178, fnof: 0x192, circ: 0x2c6, tilde: 0x2dc,
    larr: 0x2190, rarr: 0x2192, uarr: 0x2191, darr: 0x2193, hearts: 0x2665,
  };
  for (const [name, code] of Object.entries(others)) map.set(name, String.fromCharCode(code));
  return map;
})();

/** Decodes `&name;`, `&#NNN;` and `&#xHH;` references; unknown names are left as written. */
export function decodeHtmlEntities(text: string): string {
  return text.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?/g, (whole, ref: string) => {
    if (ref.startsWith("#")) {
      const code = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\ufffd";
      return String.fromCodePoint(code);
    }
    return NAMED_ENTITIES.get(ref) ?? whole;
  });
}

const DROPPED_ELEMENTS = /<(script|style|head|title|noscript|object|applet|xml)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;
const BLOCK_TAG =
  /^(p|div|br|hr|li|ul|ol|dl|dt|dd|tr|table|tbody|thead|tfoot|h[1-6]|blockquote|pre|section|article|header|footer|center|form|address|body|html)$/i;
const CELL_TAG = /^(td|th)$/i;

/** Converts an HTML document or fragment to plain text. */
export function htmlToText(html: string): string {
  let s = html.replace(/<!--[\s\S]*?(-->|$)/g, " ");
  s = s.replace(/<!DOCTYPE[^>]*>/gi, " ").replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, "$1");
  s = s.replace(DROPPED_ELEMENTS, " ");
  // Source line breaks are plain spacing in HTML; only block tags break lines.
  s = s.replace(/\s+/g, " ");
  s = s.replace(/<\/?([A-Za-z][A-Za-z0-9]*)\b(?:[^>"']|"[^"]*"|'[^']*')*>/g, (_tag, name: string) => {
    if (BLOCK_TAG.test(name)) return name.toLowerCase() === "br" ? "\n" : "\n\n";
    if (CELL_TAG.test(name)) return " ";
    return "";
  });
  // A '<' that never closed is text, as browsers show it.
  s = decodeHtmlEntities(s);
  const lines = s.split("\n").map((line) => line.replace(/[ \t\u00a0]+/g, " ").trim());
  return lines.join("\n").replace(/\n{3,}/g, "\n\n").trim();
}

/** True when a text body looks like HTML rather than plain text (used for mislabelled parts). */
export function looksLikeHtml(text: string): boolean {
  const head = text.slice(0, 4096);
  return /<(html|body)[\s>]/i.test(head) || (/^\s*<[A-Za-z!]/.test(head) && /<\/[A-Za-z]+>/.test(head));
}
