// Static checks of web/app's module layout that the type check does not make: only the
// model talks to the REST client, no state is hung on `window` for others to reach, and
// every module says at its top that it is type-checked and what it owns.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const APP = new URL('../app/', import.meta.url).pathname;

/** Every .js file under web/app, as [path relative to web/app, text]. */
function modules(dir = APP) {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
            return modules(path);
        }
        return entry.name.endsWith('.js') ? [[relative(APP, path), readFileSync(path, 'utf8')]] : [];
    });
}

describe('web/app module layout', () => {
    const all = modules();

    it('finds the modules', () => {
        const names = all.map(([name]) => name);
        for (const expected of ['model.js', 'api.js', 'chat.js', 'chat/sidebar.js', 'chat/channel-view.js', 'chat/composer.js', 'chat/thread-panel.js', 'chat/dialogs.js']) {
            assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
        }
    });

    it('only model.js imports the REST client', () => {
        const importers = all.filter(([, text]) => /from\s+['"](\.\.?\/)+api\.js['"]/.test(text)).map(([name]) => name);
        assert.deepEqual(importers, ['model.js']);
    });

    it('nothing is published on window but the plugin entry point', () => {
        for (const [name, text] of all) {
            const assigned = [...text.matchAll(/\bwindow\)?\.(\w+)\s*=[^=]/g)].map((m) => m[1]);
            assert.deepEqual(assigned.filter((prop) => prop !== 'registerPlugin'), [], name);
            assert.doesNotMatch(text, /window\.chorus/, name);
        }
    });

    it('every module starts with // @ts-check and a comment on what it owns', () => {
        for (const [name, text] of all) {
            const [first, second] = text.split('\n');
            assert.equal(first, '// @ts-check', name);
            assert.match(second, /^\/\/ \S/, `${name} explains itself on line 2`);
        }
    });
});
