/**
 * Public surface of the text helpers used by the data steps: UTF-8 decoding with counts,
 * document normalization and ids, email bodies and HTML as plain text.
 */
export {
  decodeUtf8Counting,
  normalizeText,
  documentId,
  TEXT_COUNTERS,
  MAX_WHITESPACE_RUN,
  type CounterSink,
} from "./normalize.ts";
export { htmlToText, decodeHtmlEntities } from "./html.ts";
export { emailToText, decodeHeaderValue, decodeCharset, type EmailText } from "./email.ts";
