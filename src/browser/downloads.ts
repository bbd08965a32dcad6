// Offering files to the visitor as downloads (models and galleries leave the page this way).

/** Start a download of each file, one after another. */
export function offerDownloads(files: readonly File[]): void {
  for (const file of files) {
    const url = URL.createObjectURL(file);
    const a = Object.assign(document.createElement('a'), { href: url, download: file.name });
    document.body.append(a);
    a.click();
    a.remove();
    // Revoked later, not at once: the browser may still be reading the blob.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
