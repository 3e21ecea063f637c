// @ts-check
// Ward's text catalogue (src/i18n/catalogue/*.json, the same files build.rs
// compiles), for tests that drive the app in Spanish by what a person sees,
// and for the check that every text on a screen comes from the catalogue.
const fs = require('fs');
const path = require('path');

const dir = path.join(__dirname, '..', '..', 'src', 'i18n', 'catalogue');

/** @typedef {{ en: string | { one: string, other: string }, es: string | { one: string, other: string } }} Entry */

/** @type {Record<string, Entry>} */
const entries = Object.assign(
  {},
  ...fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))),
);

/** @param {Entry['en']} text */
const forms = (text) => (typeof text === 'string' ? [text] : [text.one, text.other]);

/**
 * The Spanish for an English text of the catalogue, exactly as the app
 * shows it (so a Spanish test finds its controls by the same words a
 * Spanish reader sees). Throws for text that is not in the catalogue.
 * @param {string} english
 */
function es(english) {
  for (const entry of Object.values(entries)) {
    const en = forms(entry.en);
    const i = en.indexOf(english);
    if (i >= 0) return forms(entry.es)[i];
  }
  throw new Error(`not in the catalogue: ${JSON.stringify(english)}`);
}

/**
 * The text a reader of `lang` sees for an English text of the catalogue,
 * its `{placeholders}` filled from `values`: the words a test in either
 * language finds controls by. Throws for text not in the catalogue, in
 * English too, so a test cannot look for words the app does not have.
 * @param {'en' | 'es'} lang
 */
function wordsIn(lang) {
  return (/** @type {string} */ english, /** @type {Record<string, string | number>} */ values = {}) => {
    const spanish = es(english); // throws for a text not in the catalogue
    const text = lang === 'es' ? spanish : english;
    return Object.entries(values).reduce((t, [key, value]) => t.split(`{${key}}`).join(String(value)), text);
  };
}

/** @param {string} text */
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * One pattern per text in `lang`: the text, with each `{name}` standing
 * for anything.
 * @param {'en' | 'es'} lang
 */
function patterns(lang) {
  return Object.values(entries).flatMap((entry) => forms(entry[lang]).map((text) => {
    // The words around each placeholder keep their spaces: "{a} e {b}"
    // must not pass any text with an "e" in it.
    const parts = text.trim().split(/\{[a-z_]+\}/).map(escape);
    // A text that is mostly placeholders ("{browser} on {system}") lets
    // each stand for a few words only, not for a whole English sentence.
    const letters = text.replace(/\{[a-z_]+\}/g, '').replace(/[^\p{L}]/gu, '').length;
    const hole = letters >= 8 ? '[\\s\\S]+?' : '\\S+(?:\\s+\\S+){0,5}?';
    return new RegExp(`^${parts.join(hole)}$`, 'u');
  }));
}

/**
 * The texts on the page (visible text, and the accessible names given by
 * `aria-label`, `placeholder`, `title`, `alt`) that are not from the
 * catalogue in `lang` and not in `allowed` (what the test typed, names
 * and numbers the relay or the clinic gave). Dates and times from `Intl`,
 * numbers, and text inside `<time>`, code or the safety number pass.
 * @param {import('@playwright/test').Page | import('@playwright/test').Frame} page
 * @param {'en' | 'es'} lang
 * @param {string[]} allowed
 */
async function notFromCatalogue(page, lang, allowed) {
  const texts = await page.evaluate(() => {
    /** @param {Element} el */
    const shown = (el) => {
      const box = /** @type {HTMLElement} */ (el).getBoundingClientRect?.();
      const style = getComputedStyle(el);
      return box && box.width > 0 && box.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
    };
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = (node.textContent || '').trim();
      const parent = node.parentElement;
      if (!text || !parent || !shown(parent)) continue;
      if (parent.closest('script, style, time, code, .safety-number, [data-user-text]')) continue;
      // With the text of its block: a catalogue text drawn around a
      // name in bold ("This invitation is for <strong>Rosa</strong>.")
      // is whole only there.
      let block = parent;
      while (block.parentElement && getComputedStyle(block).display.startsWith('inline')) block = block.parentElement;
      found.push([text, (block.innerText || '').trim().replace(/\s+/g, ' ')]);
    }
    for (const el of document.querySelectorAll('[aria-label], [placeholder], [title], img[alt]')) {
      if (el.closest('[aria-hidden="true"]')) continue;
      for (const name of ['aria-label', 'placeholder', 'title', 'alt']) {
        const value = (el.getAttribute(name) || '').trim();
        if (value) found.push([value, value]);
      }
    }
    return found;
  });
  const known = patterns(lang);
  const dates = lang === 'es'
    ? /^(hoy|ayer|lunes|martes|miércoles|jueves|viernes|sábado|domingo|de|del|ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|a|p|m|h|[\d\s.,:/()·–-])+$/i
    : /^(today|yesterday|monday|tuesday|wednesday|thursday|friday|saturday|sunday|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|january|february|march|april|june|july|august|september|october|november|december|at|am|pm|[\d\s.,:/()·–-])+$/i;
  // Names of things, the same in every language.
  const names = ['Ward', 'English', 'Español'];
  /** @param {string} text */
  /**
   * A text passes whole, or as parts joined by " · " that each pass
   * ("{name} · care team" then a time: "Riverside Clinic · care team · 9:32 PM").
   * @param {string} text
   * @returns {boolean}
   */
  const fromCatalogue = (text) => alone(text) || text.split(' · ').some((_, i, parts) => i > 0
    && fromCatalogue(parts.slice(0, i).join(' · ')) && fromCatalogue(parts.slice(i).join(' · ')));
  /** @param {string} text one part of a line whose parts are joined by " · " */
  const alone = (text) => names.includes(text)
    || !/\p{L}/u.test(text) // symbols and numbers: "+", "‹", "3"
    || !allowed.reduce((rest, a) => rest.split(a).join(' '), text).replace(/[\s.,:;!?¿¡()"“”«»'’·–-]/g, '')
    || dates.test(text)
    || known.some((p) => p.test(text));
  const strays = texts.filter(([text, block]) => !fromCatalogue(text) && !fromCatalogue(block)).map(([text]) => text);
  return [...new Set(strays)];
}

module.exports = { es, wordsIn, notFromCatalogue };
