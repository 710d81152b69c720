/**
 * An email message (RFC 5322 with MIME) turned into its readable body: headers dropped (the subject
 * is returned on the side), multipart structure walked (alternative parts: plain text preferred over
 * HTML; mixed and related parts: every text part, in order; forwarded messages: their bodies),
 * base64 and quoted-printable transfer encodings decoded, each part's charset honoured, HTML reduced
 * to text, and non-text attachments skipped and listed. Malformed mail degrades to the best text
 * that can be recovered; it never throws. The message is parsed as bytes, so 8-bit text in any
 * charset survives until the part that declares it is decoded.
 */
import { htmlToText, looksLikeHtml } from "./html.ts";

export interface EmailText {
  /** The decoded Subject header, or "" when there is none. */
  subject: string;
  /** The readable body. */
  text: string;
  /** The top-level content type, lowercased, e.g. "multipart/alternative". */
  mimeType: string;
  /** Content types of parts that were not text and so were left out (attachments, images). */
  skippedParts: string[];
}

interface Headers {
  get(name: string): string | undefined;
}

interface Entity {
  headers: Headers;
  /** Body as a binary ("latin1") string: one character per byte. */
  body: string;
}

const MAX_DEPTH = 12;

/** Extracts the readable body of one email, given its raw bytes (preferred) or text. */
export function emailToText(raw: Uint8Array | string): EmailText {
  const binary = typeof raw === "string" ? Buffer.from(raw, "utf8").toString("latin1") : Buffer.from(raw).toString("latin1");
  const entity = parseEntity(binary.replace(/^From [^\n]*\n/, ""));
  const skippedParts: string[] = [];
  const text = extractText(entity, 0, skippedParts);
  return {
    subject: decodeHeaderValue(entity.headers.get("subject") ?? ""),
    text: tidy(text),
    mimeType: contentTypeOf(entity).type,
    skippedParts,
  };
}

function parseEntity(binary: string): Entity {
  const m = /\r?\n\r?\n/.exec(binary);
  const headerBlock = m ? binary.slice(0, m.index) : binary;
  const body = m ? binary.slice(m.index + m[0].length) : "";
  // A block whose first line is not a header means a message without headers.
  if (!/^[!-9;-~]+:/.test(headerBlock)) return { headers: parseHeaders(""), body: binary };
  return { headers: parseHeaders(headerBlock), body };
}

function parseHeaders(block: string): Headers {
  const map = new Map<string, string>();
  const unfolded = block.replace(/\r?\n[ \t]+/g, " ");
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!map.has(name)) map.set(name, line.slice(colon + 1).trim());
  }
  return { get: (name) => map.get(name.toLowerCase()) };
}

interface ContentType {
  type: string;
  params: Map<string, string>;
}

function parseParams(value: string): { head: string; params: Map<string, string> } {
  const [head, ...rest] = splitOutsideQuotes(value, ";");
  const params = new Map<string, string>();
  for (const part of rest) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"')) v = v.slice(1, v.endsWith('"') && v.length > 1 ? -1 : undefined).replace(/\\(.)/g, "$1");
    params.set(part.slice(0, eq).trim().toLowerCase(), v);
  }
  return { head: (head ?? "").trim().toLowerCase(), params };
}

function splitOutsideQuotes(value: string, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"' && value[i - 1] !== "\\") quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function contentTypeOf(entity: Entity): ContentType {
  const raw = entity.headers.get("content-type");
  if (!raw) return { type: "text/plain", params: new Map() };
  const { head, params } = parseParams(raw);
  return { type: /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(head) ? head : "text/plain", params };
}

function extractText(entity: Entity, depth: number, skipped: string[]): string {
  const ct = contentTypeOf(entity);
  const disposition = parseParams(entity.headers.get("content-disposition") ?? "").head;
  const declaredMultipart = ct.type.startsWith("multipart/");
  if ((declaredMultipart || !entity.headers.get("content-type")) && depth < MAX_DEPTH) {
    // Declared boundaries that never occur, and multipart bodies sent without a Content-Type, are
    // common in real mail: fall back to the boundary the body itself uses.
    let parts = declaredMultipart ? splitMultipart(entity.body, ct.params.get("boundary")) : null;
    let type = ct.type;
    if (parts === null) {
      parts = splitMultipart(entity.body, sniffBoundary(entity.body));
      if (parts !== null && !declaredMultipart) {
        type = parts.every((p) => contentTypeOf(p).type.startsWith("text/")) ? "multipart/alternative" : "multipart/mixed";
      }
    }
    if (parts !== null) {
      if (type === "multipart/alternative") return chooseAlternative(parts, depth, skipped);
      return parts
        .map((p) => extractText(p, depth + 1, skipped))
        .filter((t) => t.trim() !== "")
        .join("\n\n");
    }
    if (declaredMultipart) return decodeTextPart(entity, { type: "text/plain", params: ct.params }, skipped);
  }
  if (ct.type === "message/rfc822" && depth < MAX_DEPTH) {
    return extractText(parseEntity(entity.body), depth + 1, skipped);
  }
  if (!ct.type.startsWith("text/") || (disposition === "attachment" && ct.type !== "text/plain")) {
    skipped.push(ct.type);
    return "";
  }
  return decodeTextPart(entity, ct, skipped);
}

function chooseAlternative(parts: Entity[], depth: number, skipped: string[]): string {
  const plain = parts.find((p) => contentTypeOf(p).type === "text/plain");
  if (plain) {
    const text = extractText(plain, depth + 1, []);
    if (text.trim() !== "") return text;
  }
  // Otherwise the richest alternative that yields text (the last one, per RFC 2046).
  for (let i = parts.length - 1; i >= 0; i--) {
    const text = extractText(parts[i], depth + 1, skipped);
    if (text.trim() !== "") return text;
  }
  return "";
}

/** The boundary of a body whose delimiter line (`--X`) is directly followed by a MIME header. */
function sniffBoundary(body: string): string | undefined {
  const lines = body.split("\n", 200);
  for (let i = 0; i + 1 < lines.length; i++) {
    const m = /^--(\S[^\r]*?)\s*$/.exec(lines[i]);
    if (m && /^content-[a-z-]+:/i.test(lines[i + 1])) return m[1];
  }
  return undefined;
}

/** Splits a multipart body at its boundary; null when the boundary is missing or never appears. */
function splitMultipart(body: string, boundary: string | undefined): Entity[] | null {
  if (!boundary) return null;
  const delimiter = `--${boundary}`;
  const lines = body.split("\n");
  const parts: string[][] = [];
  let current: string[] | null = null;
  for (const rawLine of lines) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line.startsWith(delimiter)) {
      const rest = line.slice(delimiter.length).trimEnd();
      if (rest === "" || rest === "--") {
        if (current) parts.push(current);
        current = rest === "--" ? null : [];
        if (rest === "--") break;
        continue;
      }
    }
    current?.push(line);
  }
  if (current && current.length) parts.push(current); // closing delimiter missing: keep the last part
  if (parts.length === 0) return null;
  return parts.map((p) => parseEntity(p.join("\n")));
}

function decodeTextPart(entity: Entity, ct: ContentType, skipped: string[]): string {
  const bytes = decodeTransfer(entity.body, entity.headers.get("content-transfer-encoding"));
  const text = decodeCharset(bytes, ct.params.get("charset"));
  if (ct.type === "text/html" || (ct.type === "text/plain" && looksLikeHtml(text))) return htmlToText(text);
  if (ct.type === "text/enriched" || ct.type === "text/richtext") return text.replace(/<\/?[A-Za-z][^>]*>/g, "");
  if (ct.type !== "text/plain" && /^text\/(calendar|x-vcard|vcard|css|javascript|xml)$/.test(ct.type)) {
    skipped.push(ct.type);
    return "";
  }
  return text;
}

function decodeTransfer(body: string, encoding: string | undefined): Buffer {
  const enc = (encoding ?? "").trim().toLowerCase();
  if (enc === "base64") return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ""), "base64");
  if (enc === "quoted-printable") return decodeQuotedPrintable(body);
  return Buffer.from(body, "latin1");
}

/** Decodes quoted-printable from a binary string: soft breaks removed, `=XX` to bytes. */
export function decodeQuotedPrintable(binary: string): Buffer {
  // Whitespace at the end of an encoded line was added in transit (RFC 2045); whitespace before a
  // soft line break ("=" at the end of the line) is data.
  const s = binary.replace(/[ \t]+(?=\r?\n)/g, "").replace(/=\r?\n/g, "");
  const out = Buffer.allocUnsafe(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3d && i + 2 < s.length && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out[n++] = parseInt(s.slice(i + 1, i + 3), 16);
      i += 2;
    } else out[n++] = c & 0xff;
  }
  return out.subarray(0, n);
}

/**
 * Bytes to text in the declared charset. Mail from this era often declares US-ASCII or nothing while
 * sending 8-bit text, or names charsets a decoder does not know: those are read as UTF-8 when the
 * bytes are valid UTF-8 and as Windows-1252 otherwise, so no byte is lost.
 */
export function decodeCharset(bytes: Uint8Array, charset: string | undefined): string {
  const label = (charset ?? "").trim().toLowerCase().replace(/^3d/, "");
  if (WINDOWS_1252_LABELS.test(label)) return decodeWindows1252(bytes);
  if (label && !/^(us-ascii|ascii|default|default_charset|unknown|x-unknown|utf-?8)$/.test(label)) {
    try {
      return new TextDecoder(label).decode(bytes);
    } catch {
      // Unknown label: fall through to the guess below.
    }
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return decodeWindows1252(bytes);
  }
}

// Labels that WHATWG maps to Windows-1252 (mail calls it ISO-8859-1 but uses 0x80-0x9F for quotes).
const WINDOWS_1252_LABELS = /^(windows-1252|cp1252|x-cp1252|iso-8859-1|iso8859-1|iso_8859-1|latin1|l1|cp819|ibm819)$/;

// Windows-1252 code points for bytes 0x80-0x9F; the five unassigned bytes map to themselves.
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

/** Windows-1252 decoding written out, because Node's decoder for that label is plain Latin-1. */
export function decodeWindows1252(bytes: Uint8Array): string {
  let out = "";
  const CHUNK = 8192;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    const codes = Array.from(bytes.subarray(i, i + CHUNK), (b) => (b >= 0x80 && b <= 0x9f ? CP1252_HIGH[b - 0x80] : b));
    out += String.fromCharCode(...codes);
  }
  return out;
}

/** Decodes RFC 2047 encoded words (`=?charset?B|Q?...?=`) and raw 8-bit bytes in a header value. */
export function decodeHeaderValue(binary: string): string {
  const words = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
  let out = "";
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = words.exec(binary)) !== null) {
    const between = binary.slice(last, m.index);
    // Whitespace between two adjacent encoded words is not part of the text.
    if (!(last > 0 && /^\s*$/.test(between))) out += decodeCharset(Buffer.from(between, "latin1"), undefined);
    const [, charset, kind, payload] = m;
    const bytes =
      kind.toLowerCase() === "b"
        ? Buffer.from(payload, "base64")
        : decodeQuotedPrintable(payload.replace(/_/g, " "));
    out += decodeCharset(bytes, charset.replace(/\*.*$/, ""));
    last = m.index + m[0].length;
  }
  out += decodeCharset(Buffer.from(binary.slice(last), "latin1"), undefined);
  return out.replace(/\s+/g, " ").trim();
}

function tidy(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
