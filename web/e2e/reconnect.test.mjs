// Reconnection through a load balancer: A's page is served by nginx in front of two
// nodes. The node holding A's websocket is stopped (SIGTERM) while nginx is down too,
// so the page is deterministically disconnected: it must show "Reconnecting…", then
// reconnect through nginx to the surviving node, catch up on the post made while it
// was away, and keep working (live posts both ways).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
    Api, STEP_TIMEOUT_MS, launchBrowser, loginThroughUi, newUserPage, screenshot,
    skipUnlessReady, startCluster, startNginx, uniqueName,
} from './lib/harness.mjs';

const skip = skipUnlessReady({ nginx: true });

describe('reconnection after a node goes away', { skip, timeout: 10 * 60_000 }, () => {
    let cluster;
    let lb;
    let browser;
    let page;
    let failed = false;

    before(async () => {
        [cluster, browser] = await Promise.all([startCluster({ count: 2 }), launchBrowser()]);
        lb = await startNginx(cluster.nodes);
    });

    after(async () => {
        if (failed && cluster) {
            cluster.failed = true;
        }
        if (page && page.errors.length) {
            console.error(`browser errors:\n  ${page.errors.join('\n  ')}`);
        }
        await browser?.close();
        await lb?.stop();
        lb?.cleanup();
        await cluster?.stop();
    });

    it('d. the page reconnects to the surviving node, catches up, and keeps working', { timeout: STEP_TIMEOUT_MS * 2 }, async () => {
        try {
            const [node1, node2] = cluster.nodes;
            const root = new Api(lb.url);
            const adminName = uniqueName('root');
            const aName = uniqueName('anna');
            const bName = uniqueName('ben');
            await root.createUser(adminName);
            const admin = await root.login(adminName);
            const team = await admin.post('/teams', { name: 'ha-team', display_name: 'HA Team', type: 'O' });
            const users = {};
            for (const name of [aName, bName]) {
                await root.createUser(name);
                users[name] = await root.login(name);
                await users[name].post(`/teams/${team.id}/members`, { team_id: team.id, user_id: users[name].user.id });
            }
            const channel = await admin.get(`/teams/${team.id}/channels/name/town-square`);

            // A's page goes through nginx.
            page = await newUserPage(browser);
            // Which node holds A's websocket? The `hello` that greets a new connection
            // names it (server_hostname is the node id); watch the frames the page receives.
            const greetedBy = [];
            page.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => {
                let msg = null;
                try {
                    msg = JSON.parse(String(payload));
                } catch {
                    return;
                }
                if (msg && msg.event === 'hello') {
                    greetedBy.push(msg.data && msg.data.server_hostname);
                }
            }));
            await loginThroughUi(page, lb.url, aName);
            await page.waitForURL(/\/ha-team\/channels\/town-square/);
            const box = page.getByRole('combobox', { name: /^Message/ });
            await box.waitFor();
            await page.waitForFunction(() => document.body.dataset.connection === 'connected');

            const deadline = Date.now() + 10_000;
            while (greetedBy.length === 0 && Date.now() < deadline) {
                await new Promise((r) => setTimeout(r, 100));
            }
            // The latest greeting is the open connection's.
            const nodeId = greetedBy[greetedBy.length - 1];
            const gone = cluster.nodes.find((n) => n.id === nodeId);
            const survivor = cluster.nodes.find((n) => n.id !== nodeId);
            assert.ok(gone && survivor, `A's socket is on a known node (${nodeId}; nodes ${node1.id}, ${node2.id})`);
            const bApi = users[bName].withUrl(survivor.url);

            // Record every connection state the page shows, with the indicator's visibility.
            await page.evaluate(() => {
                window.connectionHistory = [];
                const indicator = document.querySelector('.connection');
                const record = () => window.connectionHistory.push({
                    status: document.body.dataset.connection,
                    visible: getComputedStyle(indicator).display !== 'none' && indicator.getBoundingClientRect().width > 0,
                    text: indicator.textContent,
                });
                new MutationObserver(record).observe(document.body, { attributes: true, attributeFilter: ['data-connection'] });
            });

            // Cut A off: nginx down (its sockets close), then A's node stops.
            await lb.stop();
            const indicator = page.getByRole('status').filter({ hasText: 'Reconnecting…' });
            await indicator.waitFor();
            await screenshot(page, '08-reconnecting');
            await gone.stop('SIGTERM');
            assert.equal(gone.alive, false);

            // B posts while A is disconnected.
            await bApi.post('/posts', { channel_id: channel.id, message: 'posted while anna was away' });

            // nginx back (with the dead node still in its upstream list): A reconnects to
            // the survivor, gets a new connection and catches up.
            await lb.start();
            await indicator.waitFor({ state: 'hidden', timeout: 30_000 });
            await page.locator('#main article.post', { hasText: 'posted while anna was away' }).waitFor();
            const history = await page.evaluate(() => window.connectionHistory);
            const reconnecting = history.findIndex((h) => h.status === 'reconnecting');
            assert.ok(reconnecting >= 0 && history[reconnecting].visible, `the indicator was shown: ${JSON.stringify(history)}`);
            assert.ok(history.slice(reconnecting).some((h) => h.status === 'connected' && !h.visible), `and hidden once connected: ${JSON.stringify(history)}`);

            // Live both ways after reconnecting.
            await bApi.post('/posts', { channel_id: channel.id, message: 'live after the failover' });
            await page.locator('#main article.post', { hasText: 'live after the failover' }).waitFor();
            await box.fill('anna is back');
            await box.press('Enter');
            await page.locator('#main article.post', { hasText: 'anna is back' }).waitFor();
            const list = await bApi.get(`/channels/${channel.id}/posts?per_page=20`);
            assert.ok(Object.values(list.posts).some((p) => p.message === 'anna is back'), 'A\'s post reached the server through nginx');
            // Each post once.
            assert.equal(await page.locator('#main article.post', { hasText: 'posted while anna was away' }).count(), 1);
            await screenshot(page, '09-after-failover');
        } catch (err) {
            failed = true;
            throw err;
        }
    });
});
