// End-to-end tests of the web app on a real two-node cluster (PostgreSQL), driven in
// Debian's Chromium. One cluster serves every test of this file, in order: the
// reference scenario installs the trigger-alert plugin that later tests use.
//
// Run: cd web/e2e && npm ci && npm test     (see lib/harness.mjs for the environment)

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
    Api, STEP_TIMEOUT_MS, PASSWORD, bundleTriggerAlert, launchBrowser, loginThroughUi, newUserPage,
    screenshot, skipUnlessReady, startCluster, uniqueName,
} from './lib/harness.mjs';

const skip = skipUnlessReady({ nginx: false });
const PLUGIN_ID = 'com.chorus.trigger-alert';

/** Polls `fn` until it returns a truthy value (or throws after `ms`: a failure, not a timing). */
async function eventually(label, fn, ms = 30_000) {
    const deadline = Date.now() + ms;
    let last;
    for (;;) {
        try {
            const value = await fn();
            if (value) {
                return value;
            }
        } catch (err) {
            last = err;
        }
        if (Date.now() > deadline) {
            throw new Error(`never true: ${label}${last ? ` (last error: ${last.message})` : ''}`);
        }
        await new Promise((r) => setTimeout(r, 150));
    }
}

describe('Chorus web app on a two-node cluster', { skip, timeout: 15 * 60_000 }, () => {
    let cluster;
    let browser;
    let node1;
    let node2;
    let bundlePath;
    const admin = { name: uniqueName('admin') };
    const userA = { name: uniqueName('alice') };
    const userB = { name: uniqueName('bob') };
    let team;
    let adminPage;
    let pageA;
    let pageB;
    let failed = false;

    const step = (name, fn) => it(name, { timeout: STEP_TIMEOUT_MS }, async () => {
        try {
            await fn();
        } catch (err) {
            failed = true;
            throw err;
        }
    });

    before(async () => {
        // Integrations in the tests listen on loopback, which the servers refuse by default.
        const extraEnv = { CHORUS_SERVICESETTINGS_ALLOWEDUNTRUSTEDINTERNALCONNECTIONS: '127.0.0.1' };
        [cluster, browser] = await Promise.all([startCluster({ count: 2, extraEnv }), launchBrowser()]);
        [node1, node2] = cluster.nodes;
        bundlePath = bundleTriggerAlert();
    });

    after(async () => {
        if (failed && cluster) {
            cluster.failed = true;
        }
        for (const page of [adminPage, pageA, pageB]) {
            if (page && page.errors.length) {
                console.error(`browser errors on ${page.url()}:\n  ${page.errors.join('\n  ')}`);
            }
        }
        await browser?.close();
        await cluster?.stop();
    });

    const post = (page, text) => page.locator('#main article.post', { hasText: text });
    const composer = (page) => page.getByRole('combobox', { name: /^Message/ });

    step('a. reference scenario: admin installs trigger-alert in the System Console; an alert set on node 1 fires for a post on node 2', async () => {
        adminPage = await newUserPage(browser);
        // Sign up: the first account is the system admin.
        await adminPage.goto(`${node1.url}/`);
        await adminPage.waitForURL(/\/login/);
        await screenshot(adminPage, '01-login');
        await adminPage.getByRole('link', { name: 'Create one' }).click();
        await adminPage.getByLabel('Username', { exact: true }).fill(admin.name);
        await adminPage.getByLabel('Email').fill(`${admin.name}@example.com`);
        await adminPage.getByLabel('Password').fill(PASSWORD);
        await adminPage.getByRole('button', { name: 'Create account' }).click();
        // No team yet: create one.
        await adminPage.waitForURL(/\/select_team/);
        await adminPage.getByLabel('Team name').fill('Reference Team');
        await adminPage.getByRole('button', { name: 'Create team' }).click();
        await adminPage.waitForURL(/\/reference-team\/channels\/town-square/);
        await composer(adminPage).waitFor();

        // System Console from the user menu.
        await adminPage.getByRole('button', { name: `Account menu for ${admin.name}` }).click();
        await adminPage.getByRole('link', { name: 'System Console' }).click();
        await adminPage.waitForURL(/\/admin_console\/plugins/);
        await adminPage.getByRole('heading', { name: 'Plugin Management' }).waitFor();

        // Upload with the upload control, then enable.
        await adminPage.getByLabel('Plugin bundle (.tar.gz)').setInputFiles(bundlePath);
        await adminPage.getByRole('button', { name: 'Upload', exact: true }).click();
        await adminPage.locator('.upload-status.success', { hasText: 'Uploaded Trigger Alert' }).waitFor();
        const card = adminPage.locator(`article.plugin-card[data-plugin-id="${PLUGIN_ID}"]`);
        await card.waitFor();
        await card.getByRole('button', { name: 'Enable Trigger Alert' }).click();
        // Running on both nodes: one row per node id, each in state Running.
        for (const node of [node1, node2]) {
            await card.locator(`tr[data-node-id="${node.id}"][data-state="2"]`, { hasText: 'Running' }).waitFor({ timeout: 60_000 });
        }
        assert.equal(await card.locator('tbody tr').count(), 2, 'one status row per node');
        await card.getByRole('button', { name: 'Disable Trigger Alert' }).waitFor();
        await screenshot(adminPage, '04-console-plugins');

        // Users A and B in the same team (set up through the API).
        const root = new Api(node1.url);
        team = await (await root.login(admin.name)).get('/teams/name/reference-team');
        for (const user of [userA, userB]) {
            await root.createUser(user.name);
            user.api = await root.login(user.name);
            user.id = user.api.user.id;
            await user.api.post(`/teams/${team.id}/members`, { team_id: team.id, user_id: user.id });
        }
        userB.api2 = userB.api.withUrl(node2.url);

        // A's page on node 1, B's page on node 2.
        pageA = await newUserPage(browser);
        pageB = await newUserPage(browser);
        await loginThroughUi(pageA, node1.url, userA.name);
        await loginThroughUi(pageB, node2.url, userB.name);
        for (const page of [pageA, pageB]) {
            await page.waitForURL(/\/reference-team\/channels\/town-square/);
            await composer(page).waitFor();
        }

        // A sets the trigger word "hello" through the plugin's header button.
        const triggerButton = pageA.getByRole('button', { name: 'Trigger words' });
        await triggerButton.click();
        const dialog = pageA.getByRole('dialog', { name: 'Trigger words' });
        await dialog.getByLabel('New trigger word').fill('hello');
        await dialog.getByLabel('New trigger word').press('Enter');
        await dialog.locator('li[data-word="hello"]').waitFor();
        await pageA.keyboard.press('Escape');
        await dialog.waitFor({ state: 'detached' });

        // B posts from node 2's page; A's page shows the alert live.
        await composer(pageB).fill('well hello there');
        await composer(pageB).press('Enter');
        await post(pageB, 'well hello there').waitFor();
        const alert = pageA.locator('#main article.post.ephemeral', { hasText: 'well hello there' });
        await alert.waitFor();
        assert.match(await alert.innerText(), /Trigger word hello was posted/);
        assert.match(await alert.innerText(), /\(only visible to you\)/);
        await post(pageA, 'well hello there').first().waitFor();
        await screenshot(pageA, '02-channel-with-alert');
    });

    step('f. disabling the plugin in the console removes its button from open pages; enabling brings it back', async () => {
        const button = pageA.getByRole('button', { name: 'Trigger words' });
        await button.waitFor();
        const card = adminPage.locator(`article.plugin-card[data-plugin-id="${PLUGIN_ID}"]`);
        await card.getByRole('button', { name: 'Disable Trigger Alert' }).click();
        await button.waitFor({ state: 'detached' });
        await pageB.getByRole('button', { name: 'Trigger words' }).waitFor({ state: 'detached' });
        for (const node of [node1, node2]) {
            await card.locator(`tr[data-node-id="${node.id}"][data-state="0"]`).waitFor({ timeout: 60_000 });
        }
        await card.getByRole('button', { name: 'Enable Trigger Alert' }).click();
        await button.waitFor({ timeout: 60_000 });
        await pageB.getByRole('button', { name: 'Trigger words' }).waitFor({ timeout: 60_000 });
        // The page was never reloaded: the alert A received earlier is still shown.
        await pageA.locator('#main article.post.ephemeral', { hasText: 'well hello there' }).waitFor();
    });

    step('uploading an installed plugin again needs force: the server\'s refusal is shown, then a forced replace', async () => {
        const card = adminPage.locator(`article.plugin-card[data-plugin-id="${PLUGIN_ID}"]`);
        await adminPage.getByLabel('Plugin bundle (.tar.gz)').setInputFiles(bundlePath);
        await adminPage.getByRole('button', { name: 'Upload', exact: true }).click();
        const refusal = adminPage.locator('.upload-status.error');
        await refusal.waitFor();
        assert.match(await refusal.innerText(), /Upload failed: .+/);
        assert.match(await refusal.innerText(), /Replace the installed version/);
        await adminPage.getByLabel('Plugin bundle (.tar.gz)').setInputFiles(bundlePath);
        await adminPage.getByLabel(/Replace the installed version/).check();
        await adminPage.getByRole('button', { name: 'Upload', exact: true }).click();
        await adminPage.locator('.upload-status.success', { hasText: 'Uploaded Trigger Alert' }).waitFor();
        for (const node of [node1, node2]) {
            await card.locator(`tr[data-node-id="${node.id}"][data-state="2"]`).waitFor({ timeout: 60_000 });
        }
        // The open pages get the replaced web part back.
        await pageA.getByRole('button', { name: 'Trigger words' }).waitFor({ timeout: 60_000 });
    });

    step('plugin settings form is generated from the manifest and saved', async () => {
        const card = adminPage.locator(`article.plugin-card[data-plugin-id="${PLUGIN_ID}"]`);
        await card.getByRole('button', { name: 'Settings of Trigger Alert' }).click();
        const dialog = adminPage.getByRole('dialog', { name: 'Trigger Alert settings' });
        const input = dialog.getByLabel('Trigger words per user');
        assert.equal(await input.inputValue(), '50', 'the default from settings_schema');
        await input.fill('7');
        await dialog.getByRole('button', { name: 'Save' }).click();
        await dialog.waitFor({ state: 'detached' });
        const adminApi = await new Api(node2.url).login(admin.name);
        const config = await adminApi.get('/config');
        const saved = config.PluginSettings.Plugins[PLUGIN_ID];
        const value = saved && Object.entries(saved).find(([k]) => k.toLowerCase() === 'maxwordsperuser');
        assert.ok(value, `saved settings: ${JSON.stringify(saved)}`);
        assert.equal(Number(value[1]), 7);
        // Reopened, the form shows the saved value.
        await card.getByRole('button', { name: 'Settings of Trigger Alert' }).click();
        assert.equal(await adminPage.getByRole('dialog', { name: 'Trigger Alert settings' }).getByLabel('Trigger words per user').inputValue(), '7');
        await adminPage.keyboard.press('Escape');
    });

    step('cluster page lists both nodes', async () => {
        await adminPage.getByRole('link', { name: 'Cluster' }).click();
        await adminPage.waitForURL(/\/admin_console\/cluster/);
        for (const node of [node1, node2]) {
            await adminPage.locator(`tr[data-node-id="${node.id}"]`).waitFor();
        }
        await screenshot(adminPage, '05-console-cluster');
        await adminPage.getByRole('link', { name: 'Plugin Management' }).click();
        await adminPage.getByRole('heading', { name: 'Plugin Management' }).waitFor();
    });

    step('b. login and sign-up errors show the server\'s message; empty fields are validated', async () => {
        const page = await newUserPage(browser);
        try {
            await page.goto(`${node2.url}/login`);
            await page.getByRole('button', { name: 'Log in' }).click();
            const error = page.getByRole('alert');
            await error.filter({ hasText: 'Enter your username or email and your password.' }).waitFor();
            assert.equal(await page.getByLabel('Username or email').getAttribute('aria-invalid'), 'true');

            // Wrong password: exactly the server's message.
            const response = await fetch(`${node2.url}/api/v4/users/login`, {
                method: 'POST', headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ login_id: userA.name, password: 'wrong-password' }),
            });
            const serverMessage = (await response.json()).message;
            assert.ok(serverMessage);
            await page.getByLabel('Username or email').fill(userA.name);
            await page.getByLabel('Password').fill('wrong-password');
            await page.getByRole('button', { name: 'Log in' }).click();
            await error.filter({ hasText: serverMessage }).waitFor();
            assert.match(page.url(), /\/login/);

            // Sign-up with a taken username.
            await page.getByRole('link', { name: 'Create one' }).click();
            await page.getByRole('button', { name: 'Create account' }).click();
            await error.filter({ hasText: 'Enter a username, an email address and a password.' }).waitFor();
            const taken = await fetch(`${node2.url}/api/v4/users`, {
                method: 'POST', headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ username: userA.name, email: `other-${userA.name}@example.com`, password: PASSWORD }),
            });
            assert.equal(taken.ok, false);
            const takenMessage = (await taken.json()).message;
            await page.getByLabel('Username', { exact: true }).fill(userA.name);
            await page.getByLabel('Email').fill(`another-${userA.name}@example.com`);
            await page.getByLabel('Password').fill(PASSWORD);
            await page.getByRole('button', { name: 'Create account' }).click();
            await error.filter({ hasText: takenMessage }).waitFor();
            assert.match(page.url(), /\/signup/);
        } finally {
            await page.context().close();
        }
    });

    step('c1. Enter sends, Shift+Enter makes a new line; edits and deletes reach the other user live', async () => {
        const box = composer(pageA);
        await box.click();
        await box.type('first line');
        await box.press('Shift+Enter');
        await box.type('second line');
        assert.equal(await box.inputValue(), 'first line\nsecond line', 'Shift+Enter adds a line without sending');
        await box.press('Enter');
        const mine = post(pageA, 'first line');
        await mine.waitFor();
        assert.equal(await box.inputValue(), '', 'Enter sent and cleared the box');
        assert.match(await mine.locator('.post-body').innerText(), /^first line\nsecond line$/);
        const theirs = post(pageB, 'first line');
        await theirs.waitFor();
        assert.match(await theirs.locator('.post-body').innerText(), /^first line\nsecond line$/);

        // Edit (own post only: B has no Edit button on it).
        assert.equal(await theirs.getByRole('button', { name: 'Edit' }).count(), 0);
        await mine.hover();
        await mine.getByRole('button', { name: 'Edit' }).click();
        const editBox = pageA.getByRole('textbox', { name: 'Edit message' });
        await editBox.fill('first line, edited');
        await editBox.press('Enter');
        await post(pageA, 'first line, edited').locator('.edited').waitFor();
        await post(pageB, 'first line, edited').locator('.edited').waitFor();

        // Delete, with confirmation.
        const edited = post(pageA, 'first line, edited');
        await edited.hover();
        await edited.getByRole('button', { name: 'Delete' }).click();
        await pageA.getByRole('dialog', { name: 'Delete message' }).getByRole('button', { name: 'Delete' }).click();
        await edited.waitFor({ state: 'detached' });
        await post(pageB, 'first line, edited').waitFor({ state: 'detached' });
    });

    step('c2. a reply in the thread panel reaches the other user', async () => {
        await composer(pageA).fill('root of a thread');
        await composer(pageA).press('Enter');
        const rootOnB = post(pageB, 'root of a thread');
        await rootOnB.waitFor();
        await rootOnB.hover();
        await rootOnB.getByRole('button', { name: 'Reply' }).click();
        const panel = pageB.getByRole('complementary', { name: 'Thread' });
        await panel.waitFor();
        await panel.locator('article.post.root', { hasText: 'root of a thread' }).waitFor();
        const replyBox = panel.getByRole('combobox', { name: 'Reply to thread' });
        await replyBox.fill('a reply from bob');
        await replyBox.press('Enter');
        await panel.locator('article.post', { hasText: 'a reply from bob' }).waitFor();
        // A sees the reply in the channel, and its root counts it.
        await post(pageA, 'a reply from bob').waitFor();
        await post(pageA, 'root of a thread').getByRole('button', { name: '1 reply' }).click();
        const panelA = pageA.getByRole('complementary', { name: 'Thread' });
        await panelA.locator('article.post', { hasText: 'a reply from bob' }).waitFor();
        await screenshot(pageA, '03-thread-view');
        await panelA.getByRole('button', { name: 'Close thread' }).click();
        await panelA.waitFor({ state: 'hidden' });
    });

    step('c3. a channel B posts in shows as unread in A\'s sidebar until A opens it', async () => {
        const offTopic = await userB.api2.get(`/teams/${team.id}/channels/name/off-topic`);
        const link = pageA.locator(`#sidebar a[data-channel-id="${offTopic.id}"]`);
        assert.equal(await link.getAttribute('data-unread'), 'false');
        await userB.api2.post('/posts', { channel_id: offTopic.id, message: 'psst, over here' });
        await pageA.locator(`#sidebar a[data-channel-id="${offTopic.id}"][data-unread="true"]`).waitFor();
        assert.match(await link.innerText(), /Off-Topic/);
        assert.match(await link.textContent(), /unread/);
        await link.click();
        await post(pageA, 'psst, over here').waitFor();
        assert.equal(await link.getAttribute('data-unread'), 'false');
        // Read on the server too: a fresh load does not show it unread.
        await pageA.reload();
        await post(pageA, 'psst, over here').waitFor();
        await pageA.getByRole('link', { name: /Town Square/ }).click();
        await composer(pageA).waitFor();
        assert.equal(await link.getAttribute('data-unread'), 'false');
        // An alert (ephemeral post) in a channel that is not open marks it unread too.
        await userB.api2.post('/posts', { channel_id: offTopic.id, message: 'hello from off-topic' });
        await pageA.locator(`#sidebar a[data-channel-id="${offTopic.id}"][data-unread="true"]`).waitFor();
        await link.click();
        await pageA.locator('#main article.post.ephemeral', { hasText: 'hello from off-topic' }).waitFor();
        await pageA.getByRole('link', { name: /Town Square/ }).click();
    });

    step('c4. slash commands: suggestions with arrow keys and Enter, /echo, and an error shown in the channel', async () => {
        // The previous step's switch back to Town Square must be done, or it would
        // reset the composer under the typing.
        await pageA.getByRole('combobox', { name: /^Message Town Square/ }).waitFor();
        const box = composer(pageA);
        await box.click();
        const list = pageA.getByRole('listbox', { name: 'Slash commands' });
        // Right after a channel switch the composer can still be refreshed under the
        // first keystrokes (seen as a rare miss, or a list emptied just after it
        // appeared); retyping is what a person would do. The list is complete once the
        // built-in /echo is in it.
        const options = list.getByRole('option');
        const echo = list.getByRole('option', { name: /^\/echo/ });
        let texts = [];
        for (let attempt = 0; attempt < 3 && !texts.some((t) => t.startsWith('/echo')); attempt++) {
            await box.fill('');
            await box.type('/');
            try {
                await echo.waitFor({ timeout: 3000 });
            } catch {
                continue;
            }
            texts = await options.allInnerTexts();
        }
        assert.ok(texts.some((t) => t.startsWith('/echo')), `suggestions: ${texts}`);
        assert.ok(texts.some((t) => t.startsWith('/trigger')), `the plugin's command is suggested: ${texts}`);
        await box.type('e');
        const filtered = await options.allInnerTexts();
        assert.ok(filtered.every((t) => t.startsWith('/e')), `filtered: ${filtered}`);
        // Arrow keys move the selection; Enter picks it.
        const echoIndex = filtered.findIndex((t) => t.startsWith('/echo'));
        for (let i = 0; i < echoIndex; i += 1) {
            await box.press('ArrowDown');
        }
        assert.equal(await options.nth(echoIndex).getAttribute('aria-selected'), 'true');
        await box.press('Enter');
        assert.equal(await box.inputValue(), '/echo ');
        await list.waitFor({ state: 'hidden' });
        await box.type('echoed by the server');
        await box.press('Enter');
        await post(pageA, 'echoed by the server').waitFor();
        await post(pageB, 'echoed by the server').waitFor();

        // Tab picks too.
        await box.type('/tri');
        await box.press('Tab');
        assert.equal(await box.inputValue(), '/trigger ');
        await box.type('list');
        await box.press('Enter');
        await pageA.locator('#main article.post.ephemeral', { hasText: 'Your trigger words: hello' }).waitFor();

        // An unknown command: the server's error appears as a message in the channel.
        await box.fill('/no-such-command now');
        await box.press('Enter');
        const note = pageA.locator('#main article.post.ephemeral.error', { hasText: "Command with a trigger of 'no-such-command' not found." });
        await note.waitFor();
        assert.equal(await box.inputValue(), '/no-such-command now', 'the text stays to be fixed');
        await box.fill('');
    });

    step('c5. older messages load when scrolling up', async () => {
        const channel = await userA.api.post('/channels', { team_id: team.id, name: 'history', display_name: 'History', type: 'O' });
        for (let i = 1; i <= 70; i += 1) {
            await userA.api.post('/posts', { channel_id: channel.id, message: `history message ${String(i).padStart(3, '0')}` });
        }
        await pageA.locator(`#sidebar a[data-channel-id="${channel.id}"]`).click();
        await post(pageA, 'history message 070').waitFor();
        const count = () => pageA.locator('#main article.post').count();
        const before = await count();
        assert.ok(before < 70, `only the newest page is loaded at first (${before})`);
        assert.equal(await post(pageA, 'history message 001').count(), 0);
        await eventually('the oldest message is loaded by scrolling up', async () => {
            await pageA.locator('#main .messages').evaluate((el) => { el.scrollTop = 0; });
            return (await post(pageA, 'history message 001').count()) === 1;
        });
        assert.equal(await count(), 70);
        await pageA.locator('.older-status', { hasText: 'This is the start of History.' }).waitFor();
        await pageA.getByRole('link', { name: /Town Square/ }).click();
    });

    step('c6. create, browse and join channels; direct messages', async () => {
        await pageA.getByRole('button', { name: 'Browse or create channels' }).click();
        let dialog = pageA.getByRole('dialog', { name: 'Browse channels' });
        await dialog.getByLabel('Name', { exact: true }).fill('Project X');
        assert.equal(await dialog.getByLabel('URL name').inputValue(), 'project-x');
        await dialog.getByRole('button', { name: 'Create channel' }).click();
        await pageA.waitForURL(/\/reference-team\/channels\/project-x$/);
        await pageA.locator('#sidebar a[aria-current="page"]', { hasText: 'Project X' }).waitFor();
        await composer(pageA).fill('welcome to project x');
        await composer(pageA).press('Enter');

        await pageB.getByRole('button', { name: 'Browse or create channels' }).click();
        dialog = pageB.getByRole('dialog', { name: 'Browse channels' });
        await dialog.getByRole('button', { name: 'Join Project X' }).click();
        await pageB.waitForURL(/\/reference-team\/channels\/project-x$/);
        await post(pageB, 'welcome to project x').waitFor();

        // A direct message from A to B.
        await pageA.getByRole('button', { name: 'Start a direct message' }).click();
        dialog = pageA.getByRole('dialog', { name: 'Direct message' });
        await dialog.getByLabel('Find a person').fill(userB.name);
        await dialog.getByRole('button', { name: `Message ${userB.name}` }).click();
        await pageA.waitForURL(new RegExp(`/reference-team/messages/@${userB.name}$`));
        await composer(pageA).fill('hi bob, just between us');
        await composer(pageA).press('Enter');
        await post(pageA, 'hi bob, just between us').waitFor();
        const dmLink = pageB.locator('#sidebar a[data-unread="true"]', { hasText: userA.name });
        await dmLink.waitFor();
        await dmLink.click();
        await pageB.waitForURL(new RegExp(`/reference-team/messages/@${userA.name}$`));
        await post(pageB, 'hi bob, just between us').waitFor();
        for (const page of [pageA, pageB]) {
            await page.getByRole('link', { name: /Town Square/ }).click();
            await composer(page).waitFor();
        }
    });

    step('c7. interactive messages: a button and a menu call the integration; its dialog is filled in, refused, then accepted; the post is updated live', async () => {
        const received = [];
        let base = '';
        // The integration: a click opens a dialog through node 2 with the click's trigger
        // id and answers with an update; the dialog insists on a reason.
        const integration = http.createServer((req, res) => {
            let text = '';
            req.on('data', (chunk) => { text += chunk; });
            req.on('end', async () => {
                const body = JSON.parse(text || '{}');
                received.push({ path: req.url, body });
                let answer = {};
                if (req.url === '/approve') {
                    const opened = await fetch(`${node2.url}/api/v4/actions/dialogs/open`, {
                        method: 'POST',
                        headers: { 'Content-Type': 'application/json' },
                        body: JSON.stringify({ trigger_id: body.trigger_id, url: `${base}/dialog`, dialog: {
                            callback_id: 'approve', title: 'Approve the release', introduction_text: 'Say **why**.',
                            submit_label: 'Approve', state: body.post_id, elements: [
                                { display_name: 'Reason', name: 'reason', type: 'text', optional: true },
                                { display_name: 'Notify', name: 'notify', type: 'bool', default: 'true' },
                                { display_name: 'Risk', name: 'risk', type: 'select', optional: true,
                                    options: [{ text: 'Low', value: 'low' }, { text: 'High', value: 'high' }] },
                            ] } }),
                    });
                    assert.equal(opened.status, 200, await opened.text());
                    answer = { update: { message: 'Release 2 is being approved', props: null } };
                } else if (req.url === '/pick') {
                    answer = { ephemeral_text: `Environment: ${body.context.selected_option}` };
                } else if (req.url === '/owner') {
                    answer = { ephemeral_text: `Owner id: ${body.context.selected_option}` };
                } else if (req.url === '/dialog') {
                    answer = body.submission.reason ? {} : { errors: { reason: 'Say why you approve.' } };
                }
                res.writeHead(200, { 'Content-Type': 'application/json' });
                res.end(JSON.stringify(answer));
            });
        });
        await new Promise((resolve) => integration.listen(0, '127.0.0.1', resolve));
        base = `http://127.0.0.1:${integration.address().port}`;
        try {
            const town = await userB.api.get(`/teams/${team.id}/channels/name/town-square`);
            const created = await userB.api2.post('/posts', { channel_id: town.id, message: 'Release 2 is ready', props: { attachments: [{
                color: 'good', title: 'Release 2', text: 'All **checks** passed.', fields: [{ title: 'Build', value: '#42', short: true }],
                actions: [
                    { id: 'approve', name: 'Approve', style: 'primary', integration: { url: `${base}/approve` } },
                    { id: 'env', name: 'Environment', type: 'select', options: [{ text: 'Staging', value: 'staging' }, { text: 'Production', value: 'production' }],
                        integration: { url: `${base}/pick`, context: { from: 'menu' } } },
                    { id: 'owner', name: 'Owner', type: 'select', data_source: 'users', integration: { url: `${base}/owner` } },
                ] }] } });
            const message = pageA.locator(`#main article.post[data-post-id="${created.id}"]`);
            await message.filter({ hasText: 'Release 2 is ready' }).waitFor();
            await message.locator('.attachment strong', { hasText: 'checks' }).waitFor();
            assert.match(await message.locator('.attachment-fields').innerText(), /Build\s+#42/);

            // The menu: the choice reaches the integration, its answer shows to A alone.
            await message.getByLabel('Environment').selectOption('production');
            await pageA.locator('#main article.post.ephemeral', { hasText: 'Environment: production' }).waitFor();
            assert.equal(received.find((r) => r.path === '/pick').body.context.selected_option, 'production');
            // A menu of users is filled from the team's members when first used.
            const owner = message.getByLabel('Owner');
            await owner.focus();
            await owner.locator('option', { hasText: `@${userB.name}` }).waitFor({ state: 'attached' });
            await owner.selectOption({ label: `@${userB.name}` });
            await pageA.locator('#main article.post.ephemeral', { hasText: `Owner id: ${userB.id}` }).waitFor();

            // The button: the dialog opened through node 2 reaches A's page on node 1.
            await message.getByRole('button', { name: 'Approve' }).click();
            const dialog = pageA.getByRole('dialog', { name: 'Approve the release' });
            await dialog.waitFor();
            await dialog.locator('strong', { hasText: 'why' }).waitFor();
            await message.locator('.post-body', { hasText: 'Release 2 is being approved' }).waitFor();
            assert.equal(await message.getByText('Release 2 is ready').count(), 0);
            // The menu's answer is a reply in the post's thread, to A alone.
            assert.equal(await pageB.locator('#main article.post.ephemeral', { hasText: 'Environment' }).count(), 0);
            assert.equal(await dialog.getByLabel('Notify').isChecked(), true);
            await dialog.getByRole('button', { name: 'Approve' }).click();
            await dialog.getByText('Say why you approve.').waitFor();
            await dialog.getByLabel('Reason').fill('all green');
            await dialog.getByLabel('Risk').selectOption('low');
            await dialog.getByRole('button', { name: 'Approve' }).click();
            await dialog.waitFor({ state: 'detached' });
            const submitted = received.filter((r) => r.path === '/dialog');
            assert.equal(submitted.length, 2);
            assert.deepEqual(submitted[1].body.submission, { reason: 'all green', notify: true, risk: 'low' });
            assert.equal(submitted[1].body.user_id, userA.id);
            assert.equal(submitted[1].body.type, 'dialog_submission');
            // B's page shows the update too; B never saw the dialog.
            await post(pageB, 'Release 2 is being approved').waitFor();
            assert.equal(await pageB.getByRole('dialog').count(), 0);
            await screenshot(pageA, '08-interactive-message');
        } finally {
            await new Promise((resolve) => integration.close(resolve));
        }
    });

    step('c8. files, reactions and status dots: an image attached on node 1 shows on node 2; reactions toggle live; people online have a green dot', async () => {
        // A 1×1 PNG, small enough to write here, real enough for the server's thumbnailer.
        const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
        await pageA.locator('#main form.composer input[type="file"]').setInputFiles([
            { name: 'dot.png', mimeType: 'image/png', buffer: png },
            { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('some notes') },
        ]);
        await pageA.locator('#main .composer-file.uploaded', { hasText: 'dot.png' }).waitFor();
        await pageA.locator('#main .composer-file.uploaded', { hasText: 'notes.txt' }).waitFor();
        await composer(pageA).fill('two files for you');
        await composer(pageA).press('Enter');
        await pageA.locator('#main .composer-file').first().waitFor({ state: 'detached' });

        const shared = post(pageB, 'two files for you');
        await shared.waitFor();
        const thumbnail = shared.locator('img.file-thumbnail[alt="dot.png"]');
        await thumbnail.waitFor();
        await eventually('the thumbnail loads', () => thumbnail.evaluate((img) => img.complete && img.naturalWidth > 0));
        const card = shared.locator('a.file-card', { hasText: 'notes.txt' });
        assert.match(await card.innerText(), /10 B/);
        const href = await card.getAttribute('href');
        const download = await userB.api2.call('GET', href.replace('/api/v4', '').replace('?download=1', ''));
        assert.equal(download, 'some notes');

        // B reacts through the picker; A sees it, adds the same, and takes it back.
        await shared.getByRole('button', { name: 'Add reaction' }).click();
        const picker = pageB.getByRole('dialog', { name: 'Add reaction' });
        await picker.getByLabel('Search emoji').fill('tada');
        await picker.getByLabel('Search emoji').press('Enter');
        await picker.waitFor({ state: 'detached' });
        const onA = post(pageA, 'two files for you');
        const chip = onA.locator('button.reaction', { has: pageA.locator('[data-emoji="tada"]') });
        await chip.locator('.count', { hasText: '1' }).waitFor();
        assert.equal(await chip.locator('.emoji').innerText(), '🎉');
        assert.equal(await chip.getAttribute('aria-pressed'), 'false');
        await chip.click();
        await chip.locator('.count', { hasText: '2' }).waitFor();
        assert.equal(await chip.getAttribute('aria-pressed'), 'true');
        await shared.locator('button.reaction .count', { hasText: '2' }).waitFor();
        await chip.click();
        await chip.locator('.count', { hasText: '1' }).waitFor();

        // A's page is open: B sees A online beside A's name in the direct messages.
        const dot = pageB.locator('#sidebar a.channel-link', { hasText: userA.name }).locator('.status-dot');
        await eventually('A shows online to B', async () => (await dot.getAttribute('data-status')) === 'online', 90_000);
        await screenshot(pageA, '10-files-and-reactions');
    });

    step('c9. mentions: @bob on node 1 gives bob a counted badge and title on node 2, and a highlight once read', async () => {
        await pageB.getByRole('link', { name: /Off-Topic/ }).click();
        await composer(pageB).waitFor();
        await composer(pageA).fill(`@${userB.name} can you look at this?`);
        await composer(pageA).press('Enter');
        await composer(pageA).fill(`and once more, @${userB.name}`);
        await composer(pageA).press('Enter');
        const town = pageB.locator('#sidebar a.channel-link', { hasText: 'Town Square' });
        await town.locator('.mention-badge', { hasText: '2' }).waitFor();
        assert.equal(await town.locator('.mention-badge').getAttribute('aria-label'), '2 mentions');
        await eventually('the title counts the mentions', async () => (await pageB.title()).startsWith('(2) '));
        await screenshot(pageB, '11-mention-badge');
        await town.click();
        const mentioned = post(pageB, 'can you look at this?');
        await mentioned.waitFor();
        assert.match(await mentioned.getAttribute('class'), /mentions-me/);
        assert.equal(await mentioned.locator('.mention.mention-me').innerText(), `@${userB.name}`);
        await screenshot(pageB, '12-mention-highlight');
        await town.locator('.mention-badge').waitFor({ state: 'detached' });
        await eventually('the title drops the count', async () => !(await pageB.title()).startsWith('('));
        // The server cleared the count too (the page tells it after a short pause).
        const townId = (await userB.api.get(`/teams/${team.id}/channels/name/town-square`)).id;
        await eventually('the server clears the count', async () =>
            (await userB.api2.get(`/users/me/channels/${townId}/unread`)).mention_count === 0);
        // A's own view of the post is not highlighted.
        assert.doesNotMatch(await post(pageA, 'can you look at this?').getAttribute('class'), /mentions-me/);

        // Muted, Off-Topic's new messages do not mark it unread; a mention still counts.
        await pageB.getByRole('link', { name: /Off-Topic/ }).click();
        await pageB.getByRole('button', { name: 'Mute' }).click();
        await pageB.getByRole('button', { name: 'Unmute' }).waitFor();
        await pageB.getByRole('link', { name: /Town Square/ }).click();
        await composer(pageB).waitFor();
        const offTopicId = (await userB.api.get(`/teams/${team.id}/channels/name/off-topic`)).id;
        await userA.api.post('/posts', { channel_id: offTopicId, message: 'quiet news' });
        await userA.api.post('/posts', { channel_id: offTopicId, message: `but @${userB.name} should know` });
        const offTopic = pageB.locator(`#sidebar a[data-channel-id="${offTopicId}"]`);
        await offTopic.locator('.mention-badge', { hasText: '1' }).waitFor();
        assert.equal(await offTopic.getAttribute('data-unread'), 'false');
        assert.match(await offTopic.getAttribute('class'), /muted/);
        await offTopic.click();
        await pageB.getByRole('button', { name: 'Unmute' }).click();
        await pageB.getByRole('button', { name: 'Mute' }).waitFor();
        await pageB.getByRole('link', { name: /Town Square/ }).click();
        await composer(pageB).waitFor();
    });

    step('c10. pins, saved messages and permalinks: bob pins on node 2, alice sees it in the pinned list on node 1 and jumps back to it past 50 newer posts', async () => {
        const townId = (await userA.api.get(`/teams/${team.id}/channels/name/town-square`)).id;
        await pageA.getByRole('link', { name: /Town Square/ }).click();
        await pageB.getByRole('link', { name: /Town Square/ }).click();
        const pinMe = await userA.api.post('/posts', { channel_id: townId, message: 'pin me please: the release checklist' });
        const onB = post(pageB, 'the release checklist');
        await onB.waitFor();
        await onB.getByRole('button', { name: 'Pin', exact: true }).click();
        await onB.locator('.pinned-badge').waitFor();
        const onA = post(pageA, 'the release checklist');
        await onA.locator('.pinned-badge').waitFor();
        assert.equal(await onA.locator('.edited').count(), 0, 'pinning is not an edit');
        await onB.getByRole('button', { name: 'Save', exact: true }).click();
        await onB.locator('.saved-badge').waitFor();
        assert.equal(await onA.locator('.saved-badge').count(), 0, 'saved marks are bob\'s own');

        await pageA.getByRole('button', { name: 'Pinned', exact: true }).click();
        const pinnedList = pageA.locator('.post-list-panel');
        await pinnedList.locator('.post-result', { hasText: 'the release checklist' }).waitFor();
        assert.match(await pinnedList.locator('h2').innerText(), /Pinned in Town Square/);
        await screenshot(pageA, '13-pinned-list');
        await pageB.getByRole('button', { name: 'Saved', exact: true }).click();
        await pageB.locator('.post-list-panel .post-result', { hasText: 'the release checklist' }).waitFor();
        await pageB.getByRole('button', { name: 'Close list' }).click();

        // 50 newer posts push it out of the first page; Jump still finds and marks it.
        for (let i = 0; i < 50; i += 1) {
            await userB.api.post('/posts', { channel_id: townId, message: `filler ${i}` });
        }
        await post(pageA, 'filler 49').waitFor();
        await pinnedList.getByRole('link', { name: /^Jump/ }).first().click();
        const target = pageA.locator(`#main article.post[data-post-id="${pinMe.id}"]`);
        await target.and(pageA.locator('.highlighted')).waitFor();
        assert.ok(await target.isVisible());
        await eventually('the address is the channel again', async () => pageA.url().endsWith(`/${team.name}/channels/town-square`));
        await screenshot(pageA, '14-permalink-jump');

        // A permalink typed into the address bar on the other node does the same.
        await pageB.goto(`${node2.url}/${team.name}/pl/${pinMe.id}`);
        await pageB.locator(`#main article.post.highlighted[data-post-id="${pinMe.id}"]`).waitFor();
        // A permalink to a post one may not read says so.
        await pageB.goto(`${node2.url}/${team.name}/pl/${'x'.repeat(26)}`);
        await pageB.getByText('This message was deleted, or you cannot read it.').waitFor();
        await pageB.goto(`${node2.url}/${team.name}/channels/town-square`);
        await composer(pageB).waitFor();
    });

    step('c11. autocomplete: @ offers people of the channel (and @here), ~ offers channels; Enter or a click puts the pick in the text', async () => {
        await pageA.getByRole('link', { name: /Town Square/ }).click();
        const box = composer(pageA);
        await box.fill('');
        await box.pressSequentially(`ping @${userB.name.slice(0, 4)}`);
        const list = pageA.getByRole('listbox', { name: 'People' });
        const option = list.getByRole('option', { name: new RegExp(`@${userB.name}`) });
        await option.waitFor();
        await screenshot(pageA, '15-mention-autocomplete');
        await box.press('Enter');
        await eventually('the pick replaces the word', async () => (await box.inputValue()) === `ping @${userB.name} `);
        assert.equal(await list.count(), 0, 'the list closes after a pick');
        await box.pressSequentially('@he');
        await pageA.getByRole('listbox', { name: 'People' }).getByRole('option', { name: /@here/ }).click();
        assert.equal(await box.inputValue(), `ping @${userB.name} @here `);
        await box.pressSequentially('see ~off');
        await pageA.getByRole('listbox', { name: 'Channels' }).getByRole('option', { name: /~off-topic/ }).waitFor();
        await box.press('Tab');
        assert.equal(await box.inputValue(), `ping @${userB.name} @here see ~off-topic `);
        await box.press('Enter');
        await post(pageB, 'see ~off-topic').waitFor();
    });

    step('c12. search finds a post written on the other node and jumps to it; Ctrl+K switches channels', async () => {
        const offTopicId = (await userB.api.get(`/teams/${team.id}/channels/name/off-topic`)).id;
        await userB.api.post('/posts', { channel_id: offTopicId, message: 'the quarterly budget spreadsheet is ready' });
        await pageA.getByRole('link', { name: /Town Square/ }).click();
        const box = pageA.getByRole('searchbox', { name: 'Search messages' });
        await box.fill(`budgets from:${userB.name}`);
        await box.press('Enter');
        const results = pageA.locator('.post-list-panel');
        const hit = results.locator('.post-result', { hasText: 'quarterly budget spreadsheet' });
        await hit.waitFor();
        assert.match(await results.locator('h2').innerText(), /Search results/);
        assert.match(await hit.innerText(), /Off-Topic/);
        await screenshot(pageA, '16-search-results');
        await hit.getByRole('link', { name: /^Jump/ }).click();
        await eventually('the channel of the post opens', async () => pageA.url().endsWith(`/${team.name}/channels/off-topic`));
        await pageA.locator('#main article.post.highlighted', { hasText: 'quarterly budget spreadsheet' }).waitFor();
        await box.fill('nothing-like-this-anywhere');
        await box.press('Enter');
        await results.getByText(/Nothing matches/).waitFor();
        await pageA.getByRole('button', { name: 'Close list' }).click();

        await pageA.keyboard.press('Control+k');
        const switcher = pageA.getByRole('dialog', { name: 'Switch channels' });
        await switcher.getByRole('combobox').fill('town');
        await switcher.getByRole('option', { name: /Town Square/ }).waitFor();
        await pageA.keyboard.press('Enter');
        await eventually('Ctrl+K opened the channel', async () => pageA.url().endsWith(`/${team.name}/channels/town-square`));
        await composer(pageA).waitFor();
    });

    step('c13. desktop notifications: once allowed, a mention of bob in another channel, sent on node 1, raises one on node 2; a plain message does not', async () => {
        await pageB.context().grantPermissions(['notifications'], { origin: node2.url });
        // Records what the page shows through the browser's Notification API.
        await pageB.addInitScript(() => {
            const Real = window.Notification;
            window.__notices = [];
            const Recording = function (title, options) {
                window.__notices.push({ title, body: options && options.body });
                return new Real(title, options);
            };
            Object.defineProperty(Recording, 'permission', { get: () => Real.permission });
            Recording.requestPermission = (...args) => Real.requestPermission(...args);
            window.Notification = Recording;
        });
        await pageB.goto(`${node2.url}/${team.name}/channels/town-square`);
        await composer(pageB).waitFor();
        const offTopicId = (await userA.api.get(`/teams/${team.id}/channels/name/off-topic`)).id;
        await userA.api.post('/posts', { channel_id: offTopicId, message: 'just chatting here' });
        await userA.api.post('/posts', { channel_id: offTopicId, message: `@${userB.name} the build is green` });
        await eventually('a notification for the mention', async () =>
            (await pageB.evaluate(() => window.__notices)).some((n) => n.body.includes('the build is green')));
        const notices = await pageB.evaluate(() => window.__notices);
        assert.equal(notices.length, 1, JSON.stringify(notices));
        assert.equal(notices[0].title, `${userA.name} · Off-Topic`);
    });

    step('plugin registry: root component, header button, slash-command hook, websocket handler, post type; all removed on unload', async () => {
        const fixture = `
            window.registerPlugin('com.example.fixture', {
                initialize(registry, store) {
                    window.fixtureLog = [];
                    registry.registerRootComponent((el) => {
                        el.id = 'fixture-root';
                        el.textContent = 'fixture root for ' + store.getState().currentUser.username;
                        return () => window.fixtureLog.push('root cleanup');
                    });
                    registry.registerChannelHeaderButtonAction('F', (channel) => window.fixtureLog.push('clicked ' + channel.name), 'Fixture button', 'A fixture');
                    registry.registerSlashCommandWillBePostedHook(async (message, args) => {
                        if (message.startsWith('/shout ')) {
                            return {message: '/echo ' + message.slice(7).toUpperCase(), args};
                        }
                        if (message.startsWith('/swallow')) {
                            return {};
                        }
                        if (message.startsWith('/refuse')) {
                            return {error: {message: 'refused by the fixture'}};
                        }
                        return {message, args};
                    });
                    registry.registerWebSocketEventHandler('posted', (msg) => window.fixtureLog.push('posted ' + JSON.parse(msg.data.post).message));
                    registry.registerPostTypeComponent('custom_fixture', (el, props) => {
                        el.textContent = 'rendered by the fixture: ' + props.post.message;
                    });
                },
                uninitialize() {
                    window.fixtureLog.push('uninitialize');
                },
            });
            //`;
        // Served from the server's own origin, as real bundles are: the page's
        // Content-Security-Policy runs scripts from nowhere else.
        const fixtureUrl = '/static/plugins/com.example.fixture/fixture.js';
        let fixtureLoads = 0;
        await pageA.route(`**${fixtureUrl}*`, (route) => {
            fixtureLoads += 1;
            return route.fulfill({ contentType: 'application/javascript', body: fixture });
        });
        // The page lists the bundles to run with GET /plugins/webapp: A's page is told the
        // fixture is one of them. The page re-reads that list on every plugin_enabled or
        // plugin_disabled event, so toggling the real plugin makes it sync.
        let listFixture = true;
        await pageA.route('**/api/v4/plugins/webapp', async (route) => {
            const response = await route.fetch();
            const list = await response.json();
            if (listFixture) {
                list.push({ id: 'com.example.fixture', version: '1', webapp: { bundle_path: fixtureUrl } });
            }
            await route.fulfill({ response, json: list });
        });
        const adminApi = await new Api(node1.url).login(admin.name);
        const triggerButton = pageA.getByRole('button', { name: 'Trigger words' });
        await adminApi.post(`/plugins/${PLUGIN_ID}/disable`);
        await triggerButton.waitFor({ state: 'detached', timeout: 60_000 });
        await pageA.locator('#fixture-root', { hasText: `fixture root for ${userA.name}` }).waitFor();
        // A sync that still lists the fixture keeps it as it is (no reload).
        await adminApi.post(`/plugins/${PLUGIN_ID}/enable`);
        await triggerButton.waitFor({ timeout: 60_000 });
        assert.equal(await pageA.locator('#fixture-root').count(), 1);
        assert.equal(fixtureLoads, 1, 'the bundle was loaded once');
        assert.deepEqual(await pageA.evaluate(() => window.fixtureLog), []);
        await pageA.getByRole('button', { name: 'Fixture button' }).click();
        const box = composer(pageA);
        await box.fill('/shout quiet please');
        await box.press('Enter');
        await post(pageA, 'QUIET PLEASE').waitFor();
        await box.fill('/refuse this');
        await box.press('Enter');
        await pageA.locator('#main article.post.ephemeral.error', { hasText: 'refused by the fixture' }).waitFor();
        await box.fill('/swallow this');
        await box.press('Enter');
        assert.equal(await box.inputValue(), '');
        const townSquare = await userB.api2.get(`/teams/${team.id}/channels/name/town-square`);
        await userB.api2.post('/posts', { channel_id: townSquare.id, message: 'typed post', type: 'custom_fixture' });
        await post(pageA, 'rendered by the fixture: typed post').waitFor();
        const log = await pageA.evaluate(() => window.fixtureLog);
        assert.ok(log.includes('clicked town-square'), JSON.stringify(log));
        assert.ok(log.includes('posted typed post'), JSON.stringify(log));
        assert.equal(await pageA.locator('#main article.post', { hasText: '/swallow' }).count(), 0);

        // The fixture is not a running plugin: a re-sync with the server's own list (here
        // after the real plugin is disabled) unloads it.
        listFixture = false;
        await adminApi.post(`/plugins/${PLUGIN_ID}/disable`);
        await pageA.locator('#fixture-root').waitFor({ state: 'detached', timeout: 60_000 });
        await pageA.getByRole('button', { name: 'Fixture button' }).waitFor({ state: 'detached' });
        await post(pageA, 'typed post').filter({ hasNotText: 'rendered by the fixture' }).waitFor();
        const after = await pageA.evaluate(() => window.fixtureLog);
        assert.ok(after.includes('uninitialize') && after.includes('root cleanup'), JSON.stringify(after));
        await box.fill('/shout again');
        await box.press('Enter');
        await pageA.locator('#main article.post.ephemeral.error', { hasText: "Command with a trigger of 'shout' not found." }).waitFor();
        await box.fill('');
        // Enabled again, the real plugin's button comes back; the fixture stays away.
        await adminApi.post(`/plugins/${PLUGIN_ID}/enable`);
        await triggerButton.waitFor({ timeout: 60_000 });
        assert.equal(await pageA.locator('#fixture-root').count(), 0);
        await pageA.unroute('**/api/v4/plugins/webapp');
    });

    step('e. permission errors: the console refuses a plain user; a forbidden post shows the server\'s message', async () => {
        await pageA.goto(`${node1.url}/admin_console/plugins`);
        const refusal = pageA.getByRole('alert').filter({ hasText: 'You need to be a system admin to open the System Console.' });
        await refusal.waitFor();
        await screenshot(pageA, '07-console-refused');
        assert.equal(await pageA.getByRole('button', { name: 'Upload', exact: true }).count(), 0);

        // A private channel of B's, opened by address: the server's refusal is shown.
        const secret = await userB.api.post('/channels', { team_id: team.id, name: 'secret', display_name: 'Secret', type: 'P' });
        await pageA.goto(`${node1.url}/reference-team/channels/secret`);
        const forbidden = await fetch(`${node1.url}/api/v4/teams/${team.id}/channels/name/secret`, { headers: { Authorization: `Bearer ${userA.api.token}` } });
        const forbiddenMessage = (await forbidden.json()).message;
        await pageA.locator('#main .notice', { hasText: forbiddenMessage }).waitFor();

        // B adds A, A opens it, B removes A; A's next post is refused with the server's message.
        await userB.api.post(`/channels/${secret.id}/members`, { user_id: userA.id });
        await pageA.goto(`${node1.url}/reference-team/channels/secret`);
        await composer(pageA).waitFor();
        await pageA.locator('#sidebar a', { hasText: 'Secret' }).waitFor();
        await userB.api.del(`/channels/${secret.id}/members/${userA.id}`);
        await pageA.locator('#sidebar a', { hasText: 'Secret' }).waitFor({ state: 'detached' });
        await composer(pageA).fill('can I still post here?');
        await composer(pageA).press('Enter');
        await pageA.getByRole('alert').filter({ hasText: 'you are not a member of this channel' }).waitFor();
        assert.equal(await post(pageA, 'can I still post here?').count(), 0);
        await pageA.goto(`${node1.url}/reference-team/channels/town-square`);
        await composer(pageA).waitFor();
    });

    step('narrow window: the sidebar hides behind a menu button', async () => {
        const page = await newUserPage(browser, { width: 400, height: 780 });
        try {
            await loginThroughUi(page, node1.url, userA.name);
            await page.waitForURL(/\/channels\/town-square/);
            await composer(page).waitFor();
            const sidebar = page.locator('#sidebar');
            assert.equal(await sidebar.isVisible(), false, 'sidebar hidden at 400 px');
            await screenshot(page, '06-narrow');
            const menu = page.getByRole('button', { name: 'Menu', exact: true });
            await menu.click();
            assert.equal(await menu.getAttribute('aria-expanded'), 'true');
            await page.getByRole('link', { name: /Off-Topic/ }).waitFor();
            await screenshot(page, '06-narrow-menu-open');
            await page.getByRole('link', { name: /Off-Topic/ }).click();
            await page.waitForURL(/\/channels\/off-topic/);
            await sidebar.waitFor({ state: 'hidden' });
            // Thread panel takes the full width and closes with Escape.
            await composer(page).fill('narrow message');
            await composer(page).press('Enter');
            const mine = page.locator('#main article.post', { hasText: 'narrow message' });
            await mine.getByRole('button', { name: 'Reply' }).click();
            const panel = page.getByRole('complementary', { name: 'Thread' });
            await panel.waitFor();
            await panel.locator('article.post.root', { hasText: 'narrow message' }).waitFor();
            await screenshot(page, '06-narrow-thread');
            await page.keyboard.press('Escape');
            await panel.waitFor({ state: 'hidden' });
        } finally {
            await page.context().close();
        }
    });

    step('log out returns to the login page and ends the session', async () => {
        await pageB.getByRole('button', { name: `Account menu for ${userB.name}` }).click();
        await pageB.getByRole('button', { name: 'Log out' }).click();
        await pageB.waitForURL(/\/login/);
        await pageB.getByText('You are logged out.').waitFor();
        await pageB.goto(`${node2.url}/reference-team/channels/town-square`);
        await pageB.waitForURL(/\/login\?redirect_to=/);
        // Logging in again goes back to where the user was headed.
        await pageB.getByLabel('Username or email').fill(userB.name);
        await pageB.getByLabel('Password').fill(PASSWORD);
        await pageB.getByRole('button', { name: 'Log in' }).click();
        await pageB.waitForURL(/\/reference-team\/channels\/town-square/);
        await composer(pageB).waitFor();
        assert.deepEqual(pageA.errors.filter((e) => !e.startsWith('HTTP ') && !e.startsWith('warning: ')), [], 'no script errors on A\'s page');
    });
});
