// Unit tests of web/app/model.js: its state after server answers and websocket events.
// The only double is the HTTP transport (a fake of api.js passed to the Model), which
// answers from a table of routes and records the requests.
//
// Run: cd web && npm test   (or node --test test/)

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CATCH_UP_MARGIN_MS, Model, PAGE_SIZE, parsePost } from '../app/model.js';

const ME = { id: 'me', username: 'mia', roles: 'system_user' };
const BOB = { id: 'bob', username: 'bob' };

/** A fake api.js: `routes` maps 'METHOD /path' (exact, or ending in * for a prefix) to an answer or fn(body, path). */
function fakeApi(routes = {}) {
    const calls = [];
    const handler = (method) => async (path, body) => {
        calls.push({ method, path, body });
        const exact = routes[`${method} ${path}`];
        const prefix = Object.keys(routes).find((key) => key.endsWith('*') && `${method} ${path}`.startsWith(key.slice(0, -1)));
        const answer = exact !== undefined ? exact : prefix !== undefined ? routes[prefix] : undefined;
        if (answer === undefined) {
            throw Object.assign(new Error(`no fake answer for ${method} ${path}`), { status: 404 });
        }
        const value = typeof answer === 'function' ? await answer(body, path) : answer;
        return structuredClone(value);
    };
    return {
        calls,
        routes,
        get: handler('GET'),
        post: handler('POST'),
        put: handler('PUT'),
        del: handler('DELETE'),
        upload: handler('UPLOAD'),
        xfetch: handler('FETCH'),
        /** The requests made to `method path` (a prefix when ending in *). */
        made(method, path) {
            return calls.filter((c) => c.method === method && (path.endsWith('*') ? c.path.startsWith(path.slice(0, -1)) : c.path === path));
        },
    };
}

const channel = (id, extra = {}) => ({ id, team_id: 't1', type: 'O', name: id, display_name: id.toUpperCase(), total_msg_count: 0, ...extra });
const post = (id, extra = {}) => ({ id, channel_id: 'c1', root_id: '', user_id: 'bob', message: `text of ${id}`, type: '', create_at: 1000, update_at: 1000, ...extra });
/** A PostList, newest first in `order` as the server sends it. */
const postList = (posts, extra = {}) => ({
    order: [...posts].sort((a, b) => b.create_at - a.create_at).map((p) => p.id),
    posts: Object.fromEntries(posts.map((p) => [p.id, p])),
    ...extra,
});
const event = (name, data, broadcast = {}) => ({ event: name, data, broadcast });
/** Lets pending promise callbacks (the model's loadUsers().then(...)) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Records the model's events. */
function record(model) {
    const seen = [];
    for (const type of ['channels', 'posts', 'post', 'post-removed', 'thread', 'typing', 'teams']) {
        model.addEventListener(type, (e) => seen.push({ type, ...e.detail }));
    }
    return seen;
}

/**
 * A model of team t1 with channels c1 (open, current, posts loaded) and c2, the
 * read positions given, and Bob known.
 */
async function setup({ channels = [channel('c1', { total_msg_count: 2 }), channel('c2', { total_msg_count: 4 })], members, posts = [post('p1', { create_at: 1000 }), post('p2', { create_at: 2000 })], routes = {}, visible = true } = {}) {
    const api = fakeApi({
        'GET /users/me/teams/t1/channels': channels,
        'GET /users/me/teams/t1/channels/members': members ?? channels.map((c) => ({ channel_id: c.id, msg_count: c.total_msg_count })),
        'POST /users/ids': (ids) => [BOB].filter((u) => ids.includes(u.id)),
        'GET /channels/c1/posts*': postList(posts),
        'POST /channels/members/me/view': {},
        ...routes,
    });
    const model = new Model(ME, { api, isVisible: () => visible });
    await model.loadChannels('t1');
    model.currentChannelId = 'c1';
    await model.loadPosts('c1');
    return { model, api };
}

describe('parsePost', () => {
    it('reads the JSON text events carry, passes objects through, and refuses garbage', () => {
        assert.deepEqual(parsePost('{"id":"p1","message":"hi"}'), { id: 'p1', message: 'hi' });
        const object = { id: 'p2' };
        assert.equal(parsePost(object), object);
        assert.equal(parsePost('{not json'), null);
        assert.equal(parsePost(''), null);
        assert.equal(parsePost(undefined), null);
    });
});

describe('channels and unread state', () => {
    it('a channel is unread when its total exceeds the read position', async () => {
        const { model } = await setup({ members: [{ channel_id: 'c1', msg_count: 2 }, { channel_id: 'c2', msg_count: 1 }] });
        assert.equal(model.isUnread(model.channels.get('c1')), false);
        assert.equal(model.isUnread(model.channels.get('c2')), true);
        assert.equal(model.teamId, 't1');
        assert.deepEqual([...model.channels.keys()], ['c1', 'c2']);
    });

    it('without read positions every channel counts as read', async () => {
        const { model } = await setup({ routes: { 'GET /users/me/teams/t1/channels/members': () => { throw new Error('down'); } } });
        assert.equal(model.isUnread(model.channels.get('c2')), false);
        assert.equal(model.members.get('c2').msg_count, 4);
    });

    it('viewChannel marks read at once and tells the server after a pause, never dropping a pending mark', async (t) => {
        t.mock.timers.enable({ apis: ['setTimeout'] });
        const { model, api } = await setup({ members: [{ channel_id: 'c1', msg_count: 0 }, { channel_id: 'c2', msg_count: 0 }] });
        const seen = record(model);
        model.viewChannel('c2');
        assert.equal(model.isUnread(model.channels.get('c2')), false);
        assert.equal(model.members.get('c2').msg_count, 4);
        assert.deepEqual(seen.map((e) => e.type), ['channels']);
        assert.equal(api.made('POST', '/channels/members/me/view').length, 0, 'debounced');
        model.viewChannel('c1'); // another channel: c2's mark goes now
        assert.deepEqual(api.made('POST', '/channels/members/me/view').map((c) => c.body), [{ channel_id: 'c2' }]);
        t.mock.timers.tick(300);
        assert.deepEqual(api.made('POST', '/channels/members/me/view').map((c) => c.body), [{ channel_id: 'c2' }, { channel_id: 'c1' }]);
    });

    it('a muted channel is not unread; muting goes to the server and comes back from other tabs', async () => {
        const { model, api } = await setup({ members: [{ channel_id: 'c1', msg_count: 2 }, { channel_id: 'c2', msg_count: 1, notify_props: { mark_unread: 'mention' } }] });
        api.routes['PUT /channels/c2/members/me/notify_props'] = { status: 'OK' };
        const c2 = model.channels.get('c2');
        assert.equal(model.isMuted(c2), true);
        assert.equal(model.isUnread(c2), false);
        await model.setMuted('c2', false);
        assert.deepEqual(api.made('PUT', '/channels/c2/members/me/notify_props').map((c) => c.body), [{ mark_unread: 'all' }]);
        assert.equal(model.isUnread(c2), true);
        model.handleEvent(event('channel_member_updated', { channelMember: JSON.stringify({ channel_id: 'c2', user_id: 'me', notify_props: { mark_unread: 'mention' } }) }));
        assert.equal(model.isMuted(c2), true);
        model.handleEvent(event('channel_member_updated', { channelMember: JSON.stringify({ channel_id: 'c2', user_id: 'bob', notify_props: { mark_unread: 'all' } }) }));
        model.handleEvent(event('channel_member_updated', { channelMember: 'garbage' }));
        assert.equal(model.isMuted(c2), true, 'someone else\'s membership is not mine');
    });

    it('a channel_viewed event (another tab, another device) marks it read', async () => {
        const { model } = await setup({ members: [{ channel_id: 'c1', msg_count: 2 }, { channel_id: 'c2', msg_count: 0 }] });
        const seen = record(model);
        model.handleEvent(event('channel_viewed', { channel_id: 'c2' }));
        assert.equal(model.isUnread(model.channels.get('c2')), false);
        assert.deepEqual(seen.map((e) => e.type), ['channels']);
    });

    it('switching team drops the cached posts of the old one', async () => {
        const { model, api } = await setup();
        api.routes['GET /users/me/teams/t2/channels'] = [channel('d1', { team_id: 't2' })];
        api.routes['GET /users/me/teams/t2/channels/members'] = [{ channel_id: 'd1', msg_count: 0 }];
        assert.equal(model.posts.has('c1'), true);
        await model.loadChannels('t2');
        assert.equal(model.teamId, 't2');
        assert.equal(model.posts.size, 0);
        assert.deepEqual([...model.channels.keys()], ['d1']);
    });

    it('counts mentions of me from posted events until the channel is read', async () => {
        const { model } = await setup({ members: [{ channel_id: 'c1', msg_count: 2 }, { channel_id: 'c2', msg_count: 4, mention_count: 1 }] });
        const c2 = model.channels.get('c2');
        assert.equal(model.mentionCount(c2), 1, 'as the server said');
        model.handleEvent(event('posted', { post: JSON.stringify(post('x1', { channel_id: 'c2' })), mentions: JSON.stringify(['me']) }));
        model.handleEvent(event('posted', { post: JSON.stringify(post('x2', { channel_id: 'c2', root_id: 'x1' })), mentions: JSON.stringify(['me', 'bob']) }));
        model.handleEvent(event('posted', { post: JSON.stringify(post('x3', { channel_id: 'c2' })), mentions: JSON.stringify(['bob']) }));
        model.handleEvent(event('posted', { post: JSON.stringify(post('x4', { channel_id: 'c2' })), mentions: 'not json' }));
        await settle();
        assert.equal(model.mentionCount(c2), 3);
        assert.equal(model.members.get('c2').mention_count_root, 1);
        assert.equal(model.teamMentionCount('t1'), 3);
        assert.equal(model.totalMentions(), 3);
        model.viewChannel('c2');
        assert.equal(model.mentionCount(c2), 0);
        assert.equal(model.totalMentions(), 0);
        // Posting there oneself reads it too.
        model.handleEvent(event('posted', { post: JSON.stringify(post('x5', { channel_id: 'c2' })), mentions: JSON.stringify(['me']) }));
        model.handleEvent(event('posted', { post: JSON.stringify(post('x6', { channel_id: 'c2', user_id: 'me' })) }));
        await settle();
        assert.equal(model.mentionCount(c2), 0);
    });

    it('counts mentions in other teams from their unreads and new posts there', async () => {
        const { model, api } = await setup();
        api.routes['GET /users/me/teams'] = [{ id: 't1', name: 'a', display_name: 'A' }, { id: 't2', name: 'b', display_name: 'B' }];
        api.routes['GET /users/me/teams/unread'] = [{ team_id: 't1', msg_count: 0, mention_count: 9 }, { team_id: 't2', msg_count: 3, mention_count: 2 }];
        await model.loadTeams();
        const seen = record(model);
        model.handleEvent(event('posted', { post: JSON.stringify(post('y1', { channel_id: 'elsewhere' })), team_id: 't2', mentions: JSON.stringify(['me']) }));
        assert.equal(model.teamMentionCount('t2'), 3);
        assert.equal(model.teamMentionCount('t1'), 0, 'the open team counts its channels');
        assert.equal(model.totalMentions(), 3);
        assert.ok(seen.some((e) => e.type === 'teams'));
    });

    it('names direct channels after the other person', async () => {
        const dm = channel('dm', { type: 'D', name: 'bob__me', display_name: '' });
        const self = channel('self', { type: 'D', name: 'me__me', display_name: '' });
        const { model, api } = await setup({ channels: [channel('c1'), dm, self] });
        assert.equal(model.channelName(dm), 'bob');
        assert.equal(model.channelName(self), 'mia (you)');
        assert.equal(model.channelName(model.channels.get('c1')), 'C1');
        assert.deepEqual(api.made('POST', '/users/ids').map((c) => c.body), [['bob']], 'only the unknown partner is fetched');
    });
});

describe('posts of a channel', () => {
    it('loads the newest page, sorted oldest first, and knows whether older ones exist', async () => {
        const { model, api } = await setup();
        const posts = model.posts.get('c1');
        assert.equal(posts.loaded, true);
        assert.deepEqual(posts.sorted().map((p) => p.id), ['p1', 'p2']);
        assert.equal(posts.hasOlder, false, 'fewer than a page and no prev_post_id');
        assert.deepEqual(api.made('GET', '/channels/c1/posts*').map((c) => c.path), [`/channels/c1/posts?page=0&per_page=${PAGE_SIZE}`]);
    });

    it('loadOlder asks for the page before the oldest post and merges it', async () => {
        const { model, api } = await setup({ posts: [post('p5', { create_at: 5000 })] });
        model.posts.get('c1').hasOlder = true;
        api.routes['GET /channels/c1/posts*'] = postList([post('p3', { create_at: 3000 }), post('p4', { create_at: 4000 })], { prev_post_id: 'p2' });
        const seen = record(model);
        assert.equal(await model.loadOlder('c1'), 2);
        assert.equal(api.calls.at(-1).path, `/channels/c1/posts?before=p5&per_page=${PAGE_SIZE}`);
        assert.deepEqual(model.posts.get('c1').sorted().map((p) => p.id), ['p3', 'p4', 'p5']);
        assert.equal(model.posts.get('c1').hasOlder, true);
        assert.deepEqual(seen, [{ type: 'posts', channelId: 'c1', older: true }]);
        api.routes['GET /channels/c1/posts*'] = postList([]);
        assert.equal(await model.loadOlder('c1'), 0);
        assert.equal(model.posts.get('c1').hasOlder, false);
    });

    it('a posted event adds the post, counts it, and keeps the open channel read', async (t) => {
        t.mock.timers.enable({ apis: ['setTimeout'] });
        const { model, api } = await setup();
        const seen = record(model);
        model.handleEvent(event('posted', { post: JSON.stringify(post('p3', { create_at: 3000 })) }));
        await settle();
        const posts = model.posts.get('c1');
        assert.deepEqual(posts.sorted().map((p) => p.id), ['p1', 'p2', 'p3']);
        assert.equal(model.channels.get('c1').total_msg_count, 3);
        assert.equal(model.channels.get('c1').last_post_at, 3000);
        assert.equal(model.isUnread(model.channels.get('c1')), false);
        assert.deepEqual(seen.filter((e) => e.type === 'post').map((e) => [e.post.id, e.isNew]), [['p3', true]]);
        t.mock.timers.tick(300);
        assert.deepEqual(api.made('POST', '/channels/members/me/view').map((c) => c.body), [{ channel_id: 'c1' }]);

        // The same event again (a replay) counts nothing twice.
        model.handleEvent(event('posted', { post: JSON.stringify(post('p3', { create_at: 3000 })) }));
        await settle();
        assert.equal(model.channels.get('c1').total_msg_count, 3);
        assert.deepEqual(seen.filter((e) => e.type === 'post').map((e) => [e.post.id, e.isNew]), [['p3', true], ['p3', false]]);
    });

    it('a post in another channel, or in the open one while the page is hidden, makes it unread', async () => {
        const { model, api } = await setup({ visible: false });
        model.handleEvent(event('posted', { post: JSON.stringify(post('x1', { channel_id: 'c2' })) }));
        model.handleEvent(event('posted', { post: JSON.stringify(post('p3', { create_at: 3000 })) }));
        await settle();
        assert.equal(model.isUnread(model.channels.get('c2')), true);
        assert.equal(model.isUnread(model.channels.get('c1')), true);
        assert.equal(model.posts.get('c2')?.byId.size ?? 0, 0, 'c2 is not loaded: nothing is kept for it');
        assert.equal(api.made('POST', '/channels/members/me/view').length, 0);
    });

    it('my own post from elsewhere (another tab) leaves the channel read', async () => {
        const { model } = await setup();
        model.handleEvent(event('posted', { post: JSON.stringify(post('m1', { channel_id: 'c2', user_id: 'me' })) }));
        await settle();
        assert.equal(model.channels.get('c2').total_msg_count, 5);
        assert.equal(model.isUnread(model.channels.get('c2')), false);
    });

    it('a post in a channel not in the list reloads the list soon, once for several events', async (t) => {
        t.mock.timers.enable({ apis: ['setTimeout'] });
        const { model, api } = await setup();
        const before = api.made('GET', '/users/me/teams/t1/channels').length;
        model.handleEvent(event('posted', { post: JSON.stringify(post('n1', { channel_id: 'new' })), team_id: 't1' }));
        model.handleEvent(event('channel_created', { team_id: 't1' }));
        model.handleEvent(event('posted', { post: JSON.stringify(post('o1', { channel_id: 'other-team' })), team_id: 't9' }));
        await settle();
        assert.equal(api.made('GET', '/users/me/teams/t1/channels').length, before);
        t.mock.timers.tick(150);
        await settle();
        assert.equal(api.made('GET', '/users/me/teams/t1/channels').length, before + 1);
    });

    it('createPost sends it, shows it and counts it once even when its event follows', async () => {
        const { model, api } = await setup({ routes: { 'POST /posts': (body) => post('mine', { ...body, user_id: 'me', create_at: 3000 }) } });
        const created = await model.createPost('c1', 'hello', '');
        assert.equal(api.made('POST', '/posts')[0].body.message, 'hello');
        assert.match(api.made('POST', '/posts')[0].body.pending_post_id, /^me:\d+$/);
        assert.equal(created.id, 'mine');
        assert.equal(model.posts.get('c1').byId.get('mine').message, 'hello');
        assert.equal(model.channels.get('c1').total_msg_count, 3);
        model.handleEvent(event('posted', { post: JSON.stringify(post('mine', { user_id: 'me', message: 'hello', create_at: 3000 })) }));
        await settle();
        assert.equal(model.channels.get('c1').total_msg_count, 3);
        assert.equal(model.isUnread(model.channels.get('c1')), false);
    });

    it('an edit replaces the post, but an older version never replaces a newer one', async () => {
        const { model } = await setup();
        model.handleEvent(event('post_edited', { post: JSON.stringify(post('p1', { message: 'edited', update_at: 5000, edit_at: 5000 })) }));
        assert.equal(model.posts.get('c1').byId.get('p1').message, 'edited');
        model.handleEvent(event('post_edited', { post: JSON.stringify(post('p1', { message: 'stale', update_at: 4000 })) }));
        assert.equal(model.posts.get('c1').byId.get('p1').message, 'edited');
    });

    it('editPost and deletePost go to the server, then change the model', async () => {
        const { model, api } = await setup({
            routes: {
                'PUT /posts/p1/patch': (body) => post('p1', { message: body.message, update_at: 6000, edit_at: 6000 }),
                'DELETE /posts/p2': { status: 'OK' },
            },
        });
        const seen = record(model);
        const updated = await model.editPost('p1', 'better');
        assert.deepEqual(api.made('PUT', '/posts/p1/patch').map((c) => c.body), [{ message: 'better' }]);
        assert.equal(updated.message, 'better');
        assert.equal(model.posts.get('c1').byId.get('p1').message, 'better');
        await model.deletePost(model.posts.get('c1').byId.get('p2'));
        assert.equal(api.made('DELETE', '/posts/p2').length, 1);
        assert.equal(model.posts.get('c1').byId.has('p2'), false);
        assert.deepEqual(seen.map((e) => `${e.type}:${e.post.id}`), ['post:p1', 'post-removed:p2']);
    });

    it('a failed delete leaves the post in place', async () => {
        const { model } = await setup({ routes: { 'DELETE /posts/p2': () => { throw Object.assign(new Error('nope'), { status: 403 }); } } });
        await assert.rejects(model.deletePost(model.posts.get('c1').byId.get('p2')), /nope/);
        assert.equal(model.posts.get('c1').byId.has('p2'), true);
    });

    it('deleting a root removes its replies too', async () => {
        const { model } = await setup({ posts: [post('root', { create_at: 1000 }), post('r1', { root_id: 'root', create_at: 2000 }), post('other', { create_at: 3000 })] });
        const seen = record(model);
        model.handleEvent(event('post_deleted', { post: JSON.stringify(post('root', { delete_at: 9000 })) }));
        assert.deepEqual(model.posts.get('c1').sorted().map((p) => p.id), ['other']);
        assert.deepEqual(seen.filter((e) => e.type === 'post-removed').map((e) => e.post.id), ['r1', 'root']);
    });

    it('an ephemeral message (a plugin alert) in a closed channel is kept for later and marks it unread', async () => {
        const { model, api } = await setup();
        model.handleEvent(event('ephemeral_message', { post: JSON.stringify(post('alert', { channel_id: 'c2', user_id: '', type: '' })) }));
        assert.equal(model.isUnread(model.channels.get('c2')), true);
        assert.equal(model.posts.get('c2').byId.get('alert').type, 'system_ephemeral');
        // Opening c2: the server's page replaces stored posts but keeps the alert.
        api.routes['GET /channels/c2/posts*'] = postList([post('s1', { channel_id: 'c2' })]);
        await model.loadPosts('c2');
        assert.deepEqual(model.posts.get('c2').sorted().map((p) => p.id).sort(), ['alert', 's1']);
        model.viewChannel('c2');
        assert.equal(model.isUnread(model.channels.get('c2')), false);
    });

    it('an ephemeral post taken back (its event names only its id) leaves its channel', async () => {
        const { model } = await setup();
        model.handleEvent(event('ephemeral_message', { post: JSON.stringify(post('eph', { channel_id: 'c2', type: 'system_ephemeral' })) }));
        const seen = record(model);
        model.handleEvent(event('post_deleted', { post: JSON.stringify({ id: 'eph', user_id: 'me', type: 'system_ephemeral', delete_at: 5 }) }));
        assert.equal(model.posts.get('c2').byId.has('eph'), false);
        assert.deepEqual(seen.filter((e) => e.type === 'post-removed').map((e) => e.post.id), ['eph']);
        // An unknown id changes nothing.
        model.handleEvent(event('post_deleted', { post: JSON.stringify({ id: 'nowhere' }) }));
    });

    it('a click sends the action (with an ephemeral post\'s cookie); a dialog event opens a dialog whose answers name the open channel', async () => {
        const { model, api } = await setup({ routes: {
            'POST /posts/p1/actions/ok': { status: 'OK', trigger_id: 't' },
            'POST /actions/dialogs/submit': { errors: { name: 'Too short' } },
        } });
        await model.doPostAction(post('p1'), { id: 'ok', cookie: 'sealed' }, 'blue');
        assert.deepEqual(api.made('POST', '/posts/p1/actions/ok')[0].body, { selected_option: 'blue', cookie: 'sealed' });
        const opened = [];
        model.addEventListener('open-dialog', (e) => opened.push(e.detail.request));
        const request = { trigger_id: 't', url: '/plugins/x/submit', dialog: { callback_id: 'cb', state: 's', title: 'T' } };
        model.handleEvent(event('open_dialog', { dialog: JSON.stringify(request) }));
        model.handleEvent(event('open_dialog', { dialog: '{not json' }));
        assert.deepEqual(opened, [request]);
        const answer = await model.submitDialog(request, { name: 'A' }, false);
        assert.deepEqual(answer, { errors: { name: 'Too short' } });
        assert.deepEqual(api.made('POST', '/actions/dialogs/submit')[0].body, {
            url: '/plugins/x/submit', callback_id: 'cb', state: 's', channel_id: 'c1', team_id: 't1',
            submission: { name: 'A' }, cancelled: false,
        });
    });

    it('reactions: a toggle adds mine or takes it back, and events from others change the counts', async () => {
        const { model, api } = await setup({ routes: {
            'POST /reactions': (body) => ({ ...body, create_at: 5 }),
            'DELETE /users/me/posts/p1/reactions/%2B1': {},
        } });
        const held = () => model.posts.get('c1').byId.get('p1');
        await model.toggleReaction(held(), '+1');
        assert.deepEqual(api.made('POST', '/reactions')[0].body, { user_id: 'me', post_id: 'p1', emoji_name: '+1' });
        assert.deepEqual(held().metadata.reactions.map((r) => r.emoji_name), ['+1']);
        assert.equal(held().has_reactions, true);
        model.handleEvent(event('reaction_added', { reaction: JSON.stringify({ user_id: 'bob', post_id: 'p1', emoji_name: '+1' }) }));
        assert.equal(held().metadata.reactions.length, 2);
        await model.toggleReaction(held(), '+1');
        assert.equal(api.made('DELETE', '/users/me/posts/p1/reactions/%2B1').length, 1);
        assert.deepEqual(held().metadata.reactions.map((r) => r.user_id), ['bob']);
        model.handleEvent(event('reaction_removed', { reaction: JSON.stringify({ user_id: 'bob', post_id: 'p1', emoji_name: '+1' }) }));
        assert.equal(held().has_reactions, false);
    });

    it('statuses are asked for the users known and follow status_change; posts carry their files', async () => {
        const { model, api } = await setup({ routes: {
            'POST /users/status/ids': (ids) => ids.map((id) => ({ user_id: id, status: id === 'bob' ? 'away' : 'online' })),
            'POST /posts': (body) => post('new', { ...body, user_id: 'me' }),
        } });
        const seen = [];
        model.addEventListener('statuses', () => seen.push(model.statusOf('bob')));
        await model.refreshStatuses(['bob']);
        assert.deepEqual(api.made('POST', '/users/status/ids')[0].body.sort(), ['bob']);
        assert.equal(model.statusOf('bob'), 'away');
        model.handleEvent(event('status_change', { user_id: 'bob', status: 'dnd' }));
        model.handleEvent(event('status_change', { user_id: 'bob', status: 'dnd' }));
        assert.deepEqual(seen, ['away', 'dnd']);
        await model.createPost('c1', '', '', ['f1']);
        assert.deepEqual(api.made('POST', '/posts')[0].body.file_ids, ['f1']);
    });

    it('a local note (a command error) shows in the channel without going to the server', async () => {
        // Posts stamped after the note, so that the note is the oldest one held.
        const later = Date.now() + 60_000;
        const { model, api } = await setup({ posts: [post('p1', { create_at: later }), post('p2', { create_at: later + 1 })] });
        const before = api.calls.length;
        model.addLocalNote('c1', '/echo: failed', { error: true });
        const note = model.posts.get('c1').sorted()[0];
        assert.equal(note.message, '/echo: failed');
        assert.equal(note.error, true);
        assert.equal(note.local, true);
        assert.equal(api.calls.length, before);
        assert.equal(model.posts.get('c1').oldestStored().id, 'p1', 'a note is never the start of a "before" page');
    });

    it('typing events name the typist, never me', async () => {
        const { model } = await setup();
        const seen = record(model);
        model.handleEvent(event('typing', { parent_id: '' }, { channel_id: 'c1', user_id: 'bob' }));
        model.handleEvent(event('typing', { parent_id: '' }, { channel_id: 'c1', user_id: 'me' }));
        await settle();
        assert.deepEqual(seen, [{ type: 'typing', channelId: 'c1', rootId: '', userId: 'bob' }]);
    });
});

describe('pinned and saved posts', () => {
    it('saved posts load from preferences, follow saves here and preference events from elsewhere', async () => {
        const { model, api } = await setup({
            routes: {
                'GET /users/me/preferences/flagged_post': [{ user_id: 'me', category: 'flagged_post', name: 'p1', value: 'true' }],
                'PUT /users/me/preferences': {},
                'POST /users/me/preferences/delete': {},
            },
        });
        let changes = 0;
        model.addEventListener('saved', () => { changes += 1; });
        await model.loadSaved();
        assert.deepEqual([...model.saved], ['p1']);
        await model.setSaved('p2', true);
        assert.deepEqual(api.made('PUT', '/users/me/preferences')[0].body, [{ user_id: 'me', category: 'flagged_post', name: 'p2', value: 'true' }]);
        assert.ok(model.saved.has('p2'));
        model.handleEvent(event('preferences_deleted', { preferences: JSON.stringify([{ user_id: 'me', category: 'flagged_post', name: 'p1', value: 'true' }]) }));
        model.handleEvent(event('preferences_changed', { preferences: JSON.stringify([{ user_id: 'me', category: 'display_settings', name: 'x', value: 'y' }]) }));
        model.handleEvent(event('preferences_changed', { preferences: 'not json' }));
        assert.deepEqual([...model.saved], ['p2']);
        assert.equal(changes, 3, 'one event per change, none for other categories or garbage');
        await model.setSaved('p2', false);
        assert.equal(model.saved.size, 0);
    });

    it('pinning goes to the server and marks the post; a pinned list comes in its order', async () => {
        const { model, api } = await setup({
            routes: {
                'POST /posts/p1/pin': { status: 'OK' },
                'GET /channels/c1/pinned': postList([post('p1', { is_pinned: true, create_at: 1000 }), post('p2', { is_pinned: true, create_at: 2000 })]),
            },
        });
        await model.setPinned(model.postsOf('c1').byId.get('p1'), true);
        assert.equal(api.made('POST', '/posts/p1/pin').length, 1);
        assert.equal(model.postsOf('c1').byId.get('p1').is_pinned, true);
        const pinned = await model.pinnedPosts('c1');
        assert.deepEqual(pinned.map((p) => p.id), ['p2', 'p1']);
    });

    it('marking unread sets the unread messages and mentions, and drops a pending read mark for that channel', async (t) => {
        t.mock.timers.enable({ apis: ['setTimeout'] });
        const { model, api } = await setup({
            routes: { 'POST /users/me/posts/p1/set_unread': { channel_id: 'c1', msg_count: 2, mention_count: 1, mention_count_root: 1 } },
        });
        model.viewChannel('c1');
        await model.markUnread(model.postsOf('c1').byId.get('p1'));
        t.mock.timers.tick(1000);
        assert.equal(api.made('POST', '/channels/members/me/view').length, 0, 'the read mark was dropped');
        assert.equal(model.isUnread(model.channels.get('c1')), true);
        assert.equal(model.mentionCount(model.channels.get('c1')), 1);
        model.handleEvent(event('post_unread', { channel_id: 'c1', msg_count: 0, mention_count: 0 }));
        assert.equal(model.isUnread(model.channels.get('c1')), false);
    });

    it('desktop notices: mentions and direct messages by default, the channel\'s setting first, never my own, muted or the channel being read', async () => {
        const { model } = await setup({
            channels: [channel('c1'), channel('c2'), channel('d1', { type: 'D', name: 'bob__me' })],
        });
        const notices = [];
        model.addEventListener('notify', (e) => notices.push(e.detail.post.id));
        const posted = (id, channelId, extra = {}, mentions = []) =>
            model.handleEvent(event('posted', { post: JSON.stringify(post(id, { channel_id: channelId, ...extra })), mentions: JSON.stringify(mentions) }));
        posted('a', 'c2');
        posted('b', 'c2', {}, ['me']);
        posted('c', 'd1');
        posted('d', 'c1', {}, ['me']);
        posted('e', 'c2', { user_id: 'me' }, ['me']);
        await settle();
        assert.deepEqual(notices, ['b', 'c'], 'a mention elsewhere and a direct message');
        model.members.get('c2').notify_props = { desktop: 'all' };
        posted('f', 'c2');
        model.members.get('c2').notify_props = { desktop: 'none' };
        posted('g', 'c2', {}, ['me']);
        model.members.get('c2').notify_props = { mark_unread: 'mention' };
        posted('h', 'c2', {}, ['me']);
        await settle();
        assert.deepEqual(notices, ['b', 'c', 'f']);
        assert.equal(model.wantsSound(), true);
    });

    it('loadUntil pages back until the post is loaded, and gives up when history ends', async () => {
        const newest = Array.from({ length: PAGE_SIZE }, (_, i) => post(`n${i}`, { create_at: 10_000 + i }));
        const older = [post('old', { create_at: 500 })];
        const { model, api } = await setup({
            posts: newest,
            routes: {
                'GET /channels/c1/posts*': (_, path) => {
                    if (!path.includes('before=')) {
                        return postList(newest);
                    }
                    return path.includes('before=old') ? postList([]) : postList(older, { prev_post_id: '' });
                },
            },
        });
        await model.loadPosts('c1');
        assert.equal(await model.loadUntil('c1', 'old'), true);
        assert.equal(await model.loadUntil('c1', 'missing'), false);
        assert.equal(api.made('GET', '/channels/c1/posts?before=*').length, 1, 'the end of history is known after the older page');
    });
});

describe('the open thread', () => {
    const root = post('root', { create_at: 1000 });
    const replies = Array.from({ length: 3 }, (_, i) => post(`r${i}`, { root_id: 'root', create_at: 2000 + i }));

    it('loads page by page from the last reply received, then follows replies and edits', async () => {
        const { model, api } = await setup({
            posts: [root],
            routes: {
                'GET /posts/root/thread*': (_, path) => {
                    const from = new URL(path, 'http://x').searchParams.get('fromPost');
                    return from ? postList([root, replies[2]], { has_next: false }) : postList([root, replies[0], replies[1]], { has_next: true });
                },
            },
        });
        const seen = record(model);
        await model.openThread('root');
        assert.deepEqual(api.made('GET', '/posts/root/thread*').map((c) => c.path), [
            '/posts/root/thread?perPage=200&direction=down',
            '/posts/root/thread?perPage=200&direction=down&fromPost=r1&fromCreateAt=2001',
        ]);
        assert.equal(model.thread.loaded, true);
        assert.deepEqual([...model.thread.byId.keys()].sort(), ['r0', 'r1', 'r2', 'root']);
        assert.equal(seen.filter((e) => e.type === 'thread').length, 2, 'opened, then loaded');

        model.handleEvent(event('posted', { post: JSON.stringify(post('r3', { root_id: 'root', create_at: 3000 })) }));
        await settle();
        assert.equal(model.thread.byId.has('r3'), true);
        model.handleEvent(event('posted', { post: JSON.stringify(post('elsewhere', { create_at: 3001 })) }));
        await settle();
        assert.equal(model.thread.byId.has('elsewhere'), false);
        model.handleEvent(event('post_deleted', { post: JSON.stringify(replies[0]) }));
        assert.equal(model.thread.byId.has('r0'), false);
        model.handleEvent(event('post_deleted', { post: JSON.stringify(root) }));
        assert.equal(model.thread.deleted, true);

        model.closeThread();
        assert.equal(model.thread, null);
    });

    it('a thread that cannot load says why', async () => {
        const { model } = await setup({ routes: { 'GET /posts/root/thread*': () => { throw new Error('You do not have the appropriate permissions.'); } } });
        await model.openThread('root');
        assert.equal(model.thread.loaded, false);
        assert.equal(model.thread.error, 'You do not have the appropriate permissions.');
    });
});

describe('catching up after a new websocket connection', () => {
    it('refetches the open channel since the last post seen, drops other channels, and applies deletes', async () => {
        const { model, api } = await setup();
        api.routes['GET /channels/c2/posts*'] = postList([post('c2p', { channel_id: 'c2' })]);
        await model.loadPosts('c2');
        api.routes['GET /users/me/teams'] = [{ id: 't1', name: 'team', display_name: 'Team' }];
        let round = 0;
        api.routes['GET /channels/c1/posts*'] = () => {
            round += 1;
            return round === 1
                ? postList([post('p3', { create_at: 3000, update_at: 3000 }), post('p1', { delete_at: 3500, update_at: 3500 })], { has_next: true })
                : postList([post('p4', { create_at: 4000, update_at: 4000 })], { has_next: false });
        };
        await model.resync();
        const since = api.made('GET', '/channels/c1/posts*').filter((c) => c.path.includes('since=')).map((c) => new URL(c.path, 'http://x').searchParams.get('since'));
        assert.deepEqual(since, [String(2000 - CATCH_UP_MARGIN_MS > 0 ? 2000 - CATCH_UP_MARGIN_MS : 1), '3500']);
        assert.deepEqual(model.posts.get('c1').sorted().map((p) => p.id), ['p2', 'p3', 'p4']);
        assert.equal(model.posts.get('c2').loaded, false);
        assert.equal(model.posts.get('c2').byId.size, 0);
    });
});

describe('catching up when the first load was cut off', () => {
    it('loads the open channel whose posts never arrived', async () => {
        const { model, api } = await setup();
        model.posts.get('c1').loaded = false;
        model.posts.get('c1').byId.clear();
        api.routes['GET /users/me/teams'] = [{ id: 't1', name: 'team', display_name: 'Team' }];
        api.routes['GET /channels/c1/posts*'] = postList([post('missed', { create_at: 5000, update_at: 5000 })]);
        await model.resync();
        const asked = api.made('GET', '/channels/c1/posts*').map((c) => c.path);
        assert.ok(asked.some((path) => path.includes('page=0')), `the first page was asked for: ${asked}`);
        assert.equal(model.posts.get('c1').loaded, true);
        assert.deepEqual(model.posts.get('c1').sorted().map((p) => p.id), ['missed']);
    });
});

describe('addresses, dialogs and commands', () => {
    it('an open channel opened by its address is joined', async () => {
        const { model, api } = await setup({
            routes: {
                'GET /teams/t1/channels/name/town': channel('town'),
                'POST /channels/town/members': {},
            },
        });
        api.routes['GET /users/me/teams/t1/channels'] = [channel('c1'), channel('c2'), channel('town')];
        const found = await model.channelForRoute({ id: 't1', name: 'team' }, { kind: 'channel', team: 'team', channel: 'town' });
        assert.equal(found.id, 'town');
        assert.deepEqual(api.made('POST', '/channels/town/members').map((c) => c.body), [{ user_id: 'me' }]);
        assert.equal(model.channels.has('town'), true);
    });

    it('a private channel opened by its address is not joined, and a channel in the list costs no request', async () => {
        const { model, api } = await setup({ routes: { 'GET /teams/t1/channels/name/secret': channel('secret', { type: 'P' }) } });
        assert.equal((await model.channelForRoute({ id: 't1', name: 'team' }, { kind: 'channel', team: 'team', channel: 'secret' })).id, 'secret');
        const before = api.calls.length;
        assert.equal((await model.channelForRoute({ id: 't1', name: 'team' }, { kind: 'channel', team: 'team', channel: 'c2' })).id, 'c2');
        assert.equal(api.calls.length, before);
        assert.equal(api.made('POST', '/channels/secret/members').length, 0);
    });

    it('a direct-message address finds the person and creates the channel', async () => {
        const dm = channel('dm', { type: 'D', name: 'me__zoe', display_name: '' });
        const { model, api } = await setup({
            routes: {
                'GET /users/username/zoe': { id: 'zoe', username: 'zoe' },
                'POST /channels/direct': dm,
            },
        });
        api.routes['GET /users/me/teams/t1/channels'] = [channel('c1'), dm];
        const found = await model.channelForRoute({ id: 't1', name: 'team' }, { kind: 'dm', team: 'team', channel: '@zoe' });
        assert.equal(found.id, 'dm');
        assert.deepEqual(api.made('POST', '/channels/direct').map((c) => c.body), [['me', 'zoe']]);
        assert.equal(model.channelName(found), 'zoe');
    });

    it('creating a channel sends the team and reloads the list', async () => {
        const { model, api } = await setup({ routes: { 'POST /channels': (body) => channel('made', body) } });
        api.routes['GET /users/me/teams/t1/channels'] = [channel('c1'), channel('made')];
        const made = await model.createChannel('t1', { display_name: 'Made', name: 'made', type: 'P' });
        assert.deepEqual(api.made('POST', '/channels')[0].body, { team_id: 't1', display_name: 'Made', name: 'made', type: 'P' });
        assert.equal(made.id, 'made');
        assert.equal(model.channels.has('made'), true);
    });

    it('team members come sorted by username and are remembered', async () => {
        const { model } = await setup({ routes: { 'GET /users*': [{ id: 'z', username: 'zed' }, { id: 'a', username: 'ann' }] } });
        assert.deepEqual((await model.teamUsers('t1')).map((u) => u.username), ['ann', 'zed']);
        assert.equal(model.userName('z'), 'zed');
    });

    it('slash commands are fetched once per team, without those hidden from autocomplete', async () => {
        const { model, api } = await setup({
            routes: { 'GET /teams/t1/commands/autocomplete': [{ trigger: 'echo' }, { trigger: 'secret', auto_complete: false }] },
        });
        assert.deepEqual((await model.commandsFor('t1')).map((c) => c.trigger), ['echo']);
        await model.commandsFor('t1');
        assert.equal(api.made('GET', '/teams/t1/commands/autocomplete').length, 1);
        model.commands = null; // what a plugin_enabled event does
        await model.commandsFor('t1');
        assert.equal(api.made('GET', '/teams/t1/commands/autocomplete').length, 2);
    });

    it('a failing command list gives no suggestions and is asked again next time', async () => {
        const { model, api } = await setup({ routes: { 'GET /teams/t1/commands/autocomplete': () => { throw new Error('down'); } } });
        assert.deepEqual(await model.commandsFor('t1'), []);
        await model.commandsFor('t1');
        assert.equal(api.made('GET', '/teams/t1/commands/autocomplete').length, 2);
    });
});

describe('teams', () => {
    it('loads my teams sorted by name; joining or creating one reloads them', async () => {
        let mine = [{ id: 't2', name: 'zeta', display_name: 'Zeta' }, { id: 't1', name: 'alpha', display_name: 'Alpha' }];
        const api = fakeApi({
            'GET /users/me/teams': () => mine,
            'POST /teams/t3/members': (body) => {
                mine = [...mine, { id: 't3', name: 'mid', display_name: 'Mid' }];
                return body;
            },
        });
        const model = new Model(ME, { api });
        const seen = record(model);
        assert.deepEqual((await model.loadTeams()).map((t) => t.name), ['alpha', 'zeta']);
        await model.joinTeam({ id: 't3', name: 'mid', display_name: 'Mid' });
        assert.deepEqual(api.made('POST', '/teams/t3/members').map((c) => c.body), [{ team_id: 't3', user_id: 'me' }]);
        assert.deepEqual(model.teams.map((t) => t.name), ['alpha', 'mid', 'zeta']);
        assert.deepEqual(seen.map((e) => e.type), ['teams', 'teams']);
        model.teamId = 't3';
        assert.equal(model.team.display_name, 'Mid');
    });

    it('an added_to_team event for me reloads my teams', async () => {
        const api = fakeApi({ 'GET /users/me/teams': [{ id: 't1', name: 'a', display_name: 'A' }] });
        const model = new Model(ME, { api });
        model.handleEvent(event('added_to_team', { user_id: 'someone-else' }));
        await settle();
        assert.equal(api.made('GET', '/users/me/teams').length, 0);
        model.handleEvent(event('added_to_team', { user_id: 'me' }));
        await settle();
        assert.equal(model.teams.length, 1);
    });

    it('knows a system admin', () => {
        assert.equal(new Model(ME, { api: fakeApi() }).isAdmin(), false);
        assert.equal(new Model({ ...ME, roles: 'system_user system_admin' }, { api: fakeApi() }).isAdmin(), true);
    });
});
