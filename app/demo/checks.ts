/** The demo's claims: each printed as it is checked, and counted for the exit code. */
export class Checks {
  readonly #results: boolean[] = []

  /** Records and prints one claim; returns whether it held. */
  check (ok: boolean, what: string): boolean {
    this.#results.push(ok)
    console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`)
    return ok
  }

  get total (): number {
    return this.#results.length
  }

  get failed (): number {
    return this.#results.filter(ok => !ok).length
  }
}
