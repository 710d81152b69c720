/**
 * The embedded sources kiln ships, as data: four Brown genre families, SpamAssassin ham and spam,
 * nlp-corpus sentences, and JavaScript/TypeScript code from installed packages. Sizes are the
 * materialised JSONL sizes measured on the pinned package versions, rounded.
 */
import type { EmbeddedSourceSpec } from "./registry.ts";

const brownLicense = "Brown Corpus: distributed with the permission of the copyright holder, redistribution permitted";

export const BUILTIN_SOURCES: EmbeddedSourceSpec[] = [
  {
    name: "brown-press",
    kind: "embedded",
    reader: "brown",
    options: { genres: ["a", "b", "c"] },
    description: "Brown corpus (1961 American English), press: reportage, editorials, reviews; 88 texts",
    approxBytes: 1_090_000,
    license: brownLicense,
  },
  {
    name: "brown-nonfiction",
    kind: "embedded",
    reader: "brown",
    options: { genres: ["d", "e", "f", "g", "h"] },
    description: "Brown corpus: religion, skills and hobbies, popular lore, belles-lettres, government documents; 206 texts",
    approxBytes: 2_550_000,
    license: brownLicense,
  },
  {
    name: "brown-learned",
    kind: "embedded",
    reader: "brown",
    options: { genres: ["j"] },
    description: "Brown corpus: learned and scientific writing; 80 texts",
    approxBytes: 1_010_000,
    license: brownLicense,
  },
  {
    name: "brown-fiction",
    kind: "embedded",
    reader: "brown",
    options: { genres: ["k", "l", "m", "n", "p", "r"] },
    description: "Brown corpus: general, mystery, science, adventure and romance fiction, humor; 126 texts",
    approxBytes: 1_450_000,
    license: brownLicense,
  },
  {
    name: "spam-assassin-ham",
    kind: "embedded",
    reader: "spam-assassin",
    options: { label: "ham" },
    description: "SpamAssassin public corpus (2002), legitimate mail bodies: easy-ham-1, easy-ham-2, hard-ham-1; 4,150 messages",
    approxBytes: 8_700_000,
    license: "Apache-2.0 (SpamAssassin public corpus)",
  },
  {
    name: "spam-assassin-spam",
    kind: "embedded",
    reader: "spam-assassin",
    options: { label: "spam" },
    description: "SpamAssassin public corpus (2002), spam bodies: spam-1, spam-2; 1,896 messages",
    approxBytes: 4_770_000,
    license: "Apache-2.0 (SpamAssassin public corpus)",
  },
  {
    name: "nlp-corpus",
    kind: "embedded",
    reader: "nlp-corpus",
    description: "nlp-corpus: 100,000 shuffled English sentences from very mixed registers, one record each",
    approxBytes: 19_200_000,
    license: "MIT (nlp-corpus package); texts gathered from the web, not for commercial republication",
  },
  {
    name: "js-ts-code",
    kind: "embedded",
    reader: "source-code",
    options: { maxTotalBytes: 4 * 1024 * 1024 },
    description: "JavaScript and TypeScript source files of installed packages (p-limit, commander, hyparquet, piscina, zod, apache-arrow, ...), at most 4 MiB",
    approxBytes: 2_530_000,
    license: "per record: the package's own licence (MIT or Apache-2.0)",
  },
];
