// The chat data of the signed-in user: teams, channels with read positions, users,
// and the loaded posts of each channel. Views listen for its events:
//
//   'channels'         the channel list, an unread state or a channel changed
//   'posts'            {channelId}: the posts of a channel were (re)loaded wholesale
//   'post'             {post, isNew}: one post added or updated
//   'post-removed'     {post}
//   'thread'           the open thread changed (loaded, a reply, an edit)
//   'typing'           {channelId, rootId, userId}
//   'teams'            the team list changed
//
// Unread: a channel is unread when its `total_msg_count` exceeds the member's
// `msg_count` (as in Mattermost), or when an ephemeral message (a plugin alert)
// arrived in it while it was not open.

import * as api from './api.js';

export const PAGE_SIZE = 40;
/** How far before the last post seen a catch-up fetch starts (events from different
 * nodes are not ordered by creation time). */
export const CATCH_UP_MARGIN_MS = 5 * 60 * 1000;
/** Replies fetched per request when a thread opens (the server's most per page). */
const THREAD_PAGE = 200;
const EPHEMERAL = 'system_ephemeral';

export function isEphemeral(post) {
    return post.type === EPHEMERAL;
}

export function parsePost(value) {
    if (!value) {
        return null;
    }
    if (typeof value === 'string') {
        try {
            return JSON.parse(value);
        } catch {
            return null;
        }
    }
    return value;
}

class ChannelPosts {
    constructor() {
        this.byId = new Map();
        this.loaded = false;
        this.hasOlder = true;
        this.loadingOlder = false;
        this.lastSeenAt = 0;
    }

    sorted() {
        return [...this.byId.values()].sort((a, b) => a.create_at - b.create_at || a.id.localeCompare(b.id));
    }

    oldestStored() {
        let oldest = null;
        for (const post of this.byId.values()) {
            if (!isEphemeral(post) && !post.local && (!oldest || post.create_at < oldest.create_at)) {
                oldest = post;
            }
        }
        return oldest;
    }

    see(post) {
        this.lastSeenAt = Math.max(this.lastSeenAt, post.create_at || 0, post.update_at || 0);
    }
}

export class Model extends EventTarget {
    constructor(me) {
        super();
        this.me = me;
        this.teams = [];
        this.teamId = '';
        this.channels = new Map();
        this.members = new Map();
        this.users = new Map([[me.id, me]]);
        this.posts = new Map();
        this.ephemeralUnread = new Set();
        this.currentChannelId = '';
        this.thread = null; // {rootId, byId: Map, loaded, error}
        this.viewTimer = null;
        this.reloadTimer = null;
        this.commands = null; // per team: {teamId, list}
    }

    emit(type, detail = {}) {
        this.dispatchEvent(new CustomEvent(type, { detail }));
    }

    get team() {
        return this.teams.find((t) => t.id === this.teamId) || null;
    }

    get channel() {
        return this.channels.get(this.currentChannelId) || null;
    }

    isAdmin() {
        return (this.me.roles || '').split(/\s+/).includes('system_admin');
    }

    async loadTeams() {
        this.teams = (await api.get('/users/me/teams')) || [];
        this.teams.sort((a, b) => a.display_name.localeCompare(b.display_name));
        this.emit('teams');
        return this.teams;
    }

    /** Loads the channel list and read positions of a team (and makes it current). */
    async loadChannels(teamId = this.teamId) {
        const [channels, members] = await Promise.all([
            api.get(`/users/me/teams/${teamId}/channels`),
            api.get(`/users/me/teams/${teamId}/channels/members`).catch((err) => {
                console.warn('channel members unavailable:', err.message);
                return null;
            }),
        ]);
        if (teamId !== this.teamId) {
            this.posts.clear();
            this.ephemeralUnread.clear();
        }
        this.teamId = teamId;
        this.channels = new Map((channels || []).map((c) => [c.id, c]));
        if (members) {
            this.members = new Map(members.map((m) => [m.channel_id, m]));
        } else {
            // Without read positions, count everything as read from now on.
            this.members = new Map([...this.channels.values()].map((c) => [c.id, { channel_id: c.id, msg_count: c.total_msg_count }]));
        }
        const current = this.channels.get(this.currentChannelId);
        if (current) {
            this.markReadLocally(current.id);
        }
        await this.loadUsers(this.directPartnerIds());
        this.emit('channels');
    }

    directPartnerIds() {
        const ids = [];
        for (const channel of this.channels.values()) {
            if (channel.type === 'D') {
                ids.push(this.directPartnerId(channel));
            }
        }
        return ids;
    }

    directPartnerId(channel) {
        const [a, b] = channel.name.split('__');
        return a === this.me.id ? b : a;
    }

    async loadUsers(ids) {
        const missing = [...new Set(ids)].filter((id) => id && !this.users.has(id));
        if (missing.length === 0) {
            return;
        }
        try {
            const users = await api.post('/users/ids', missing);
            for (const user of users || []) {
                this.users.set(user.id, user);
            }
        } catch (err) {
            console.warn('cannot load users:', err.message);
        }
    }

    userName(id) {
        if (!id) {
            return 'System';
        }
        const user = this.users.get(id);
        return user ? user.username : 'someone';
    }

    channelName(channel) {
        if (!channel) {
            return '';
        }
        if (channel.type === 'D') {
            const partner = this.directPartnerId(channel);
            const name = this.userName(partner);
            return partner === this.me.id ? `${name} (you)` : name;
        }
        return channel.display_name || channel.name;
    }

    isUnread(channel) {
        if (this.ephemeralUnread.has(channel.id)) {
            return true;
        }
        const member = this.members.get(channel.id);
        return Boolean(member) && channel.total_msg_count > member.msg_count;
    }

    markReadLocally(channelId) {
        const channel = this.channels.get(channelId);
        const member = this.members.get(channelId);
        if (channel && member) {
            member.msg_count = channel.total_msg_count;
        }
        this.ephemeralUnread.delete(channelId);
    }

    /**
     * Marks the channel read now (locally) and on the server, debounced per channel:
     * a pending mark for another channel is sent at once, never dropped.
     */
    viewChannel(channelId) {
        this.markReadLocally(channelId);
        this.emit('channels');
        const send = (id) => api.post('/channels/members/me/view', { channel_id: id }).catch((err) => {
            console.warn('cannot mark the channel read:', err.message);
        });
        if (this.pendingView && this.pendingView !== channelId) {
            send(this.pendingView);
        }
        clearTimeout(this.viewTimer);
        this.pendingView = null;
        if (!this.channels.has(channelId)) {
            return; // not (or no longer) a member
        }
        this.pendingView = channelId;
        this.viewTimer = setTimeout(() => {
            this.pendingView = null;
            send(channelId);
        }, 300);
    }

    postsOf(channelId) {
        let posts = this.posts.get(channelId);
        if (!posts) {
            posts = new ChannelPosts();
            this.posts.set(channelId, posts);
        }
        return posts;
    }

    /** First page of a channel (newest PAGE_SIZE posts); keeps ephemeral ones. */
    async loadPosts(channelId) {
        const list = await api.get(`/channels/${channelId}/posts${api.qs({ page: 0, per_page: PAGE_SIZE })}`);
        const posts = this.postsOf(channelId);
        for (const [id, post] of posts.byId) {
            if (!isEphemeral(post) && !post.local) {
                posts.byId.delete(id);
            }
        }
        this.mergeList(posts, list);
        posts.loaded = true;
        posts.hasOlder = Boolean(list.prev_post_id) || (list.order || []).length >= PAGE_SIZE;
        await this.loadUsers([...posts.byId.values()].map((p) => p.user_id));
        this.emit('posts', { channelId });
        return posts;
    }

    /** The page before the oldest loaded post; resolves the number of posts added. */
    async loadOlder(channelId) {
        const posts = this.postsOf(channelId);
        if (posts.loadingOlder || !posts.hasOlder) {
            return 0;
        }
        const oldest = posts.oldestStored();
        if (!oldest) {
            posts.hasOlder = false;
            return 0;
        }
        posts.loadingOlder = true;
        try {
            const list = await api.get(`/channels/${channelId}/posts${api.qs({ before: oldest.id, per_page: PAGE_SIZE })}`);
            const order = list.order || [];
            await this.loadUsers(order.map((id) => list.posts[id].user_id));
            const added = order.filter((id) => !posts.byId.has(id)).length;
            this.mergeList(posts, list);
            posts.hasOlder = Boolean(list.prev_post_id) && order.length > 0;
            this.emit('posts', { channelId, older: true });
            return added;
        } finally {
            posts.loadingOlder = false;
        }
    }

    mergeList(posts, list) {
        for (const id of list.order || []) {
            const post = list.posts[id];
            if (post && !post.delete_at) {
                posts.byId.set(id, post);
                posts.see(post);
            }
        }
    }

    /** Adds or updates a post from an event or a reply. */
    upsertPost(post) {
        if (!post || !post.channel_id) {
            return;
        }
        const posts = this.posts.get(post.channel_id);
        let isNew = true;
        if (posts && posts.loaded) {
            const old = posts.byId.get(post.id);
            isNew = !old;
            if (old && (old.update_at || 0) > (post.update_at || 0)) {
                return;
            }
            posts.byId.set(post.id, post);
            posts.see(post);
        }
        if (this.thread && (post.id === this.thread.rootId || post.root_id === this.thread.rootId)) {
            this.thread.byId.set(post.id, post);
            this.emit('thread');
        }
        this.emit('post', { post, isNew });
    }

    removePost(post) {
        const posts = this.posts.get(post.channel_id);
        if (posts) {
            posts.byId.delete(post.id);
            if (!post.root_id) {
                for (const [id, other] of posts.byId) {
                    if (other.root_id === post.id) {
                        posts.byId.delete(id);
                        this.emit('post-removed', { post: other });
                    }
                }
            }
        }
        if (this.thread) {
            if (post.id === this.thread.rootId) {
                this.thread.deleted = true;
                this.emit('thread');
            } else if (this.thread.byId.delete(post.id)) {
                this.emit('thread');
            }
        }
        this.emit('post-removed', { post });
    }

    /** A local note in a channel (a command's error, say), shown like an ephemeral post. */
    addLocalNote(channelId, message, { rootId = '', error = false } = {}) {
        const now = Date.now();
        const post = {
            id: `local-${now}-${Math.random().toString(36).slice(2)}`,
            channel_id: channelId,
            root_id: rootId,
            create_at: now,
            update_at: now,
            user_id: '',
            message,
            type: EPHEMERAL,
            props: {},
            local: true,
            error,
        };
        this.upsertPost(post);
    }

    async openThread(rootId) {
        this.thread = { rootId, byId: new Map(), loaded: false, error: '' };
        this.emit('thread');
        await this.refreshThread();
    }

    /** Loads the open thread again, page by page. */
    async refreshThread() {
        const thread = this.thread;
        if (!thread) {
            return;
        }
        try {
            // Pages of THREAD_PAGE replies, oldest first, so that a long thread never
            // comes in one answer.
            const byId = new Map();
            let cursor = null;
            for (;;) {
                const query = { perPage: THREAD_PAGE, direction: 'down' };
                if (cursor) {
                    query.fromPost = cursor.id;
                    query.fromCreateAt = cursor.create_at;
                }
                const list = await api.get(`/posts/${thread.rootId}/thread${api.qs(query)}`);
                const page = Object.values(list.posts || {});
                await this.loadUsers(page.map((p) => p.user_id));
                if (this.thread !== thread) {
                    return;
                }
                for (const post of page) {
                    if (!post.delete_at) {
                        byId.set(post.id, post);
                    }
                }
                const replies = page.filter((p) => p.id !== thread.rootId);
                if (!list.has_next || replies.length === 0) {
                    break;
                }
                cursor = replies.reduce((a, b) => (
                    a.create_at > b.create_at || (a.create_at === b.create_at && a.id > b.id) ? a : b));
            }
            const ephemeral = [...thread.byId.values()].filter((p) => isEphemeral(p));
            thread.byId = byId;
            // Ephemeral replies (plugin alerts) are not stored: keep those we have.
            for (const post of ephemeral) {
                thread.byId.set(post.id, post);
            }
            thread.loaded = true;
        } catch (err) {
            thread.error = err.message;
        }
        this.emit('thread');
    }

    closeThread() {
        this.thread = null;
        this.emit('thread');
    }

    async createPost(channelId, message, rootId = '') {
        const post = await api.post('/posts', {
            channel_id: channelId,
            message,
            root_id: rootId,
            pending_post_id: `${this.me.id}:${Date.now()}`,
        });
        const channel = this.channels.get(channelId);
        if (channel && !this.postsOf(channelId).byId.has(post.id)) {
            // The `posted` event may come later; count it now so the channel stays read.
            channel.total_msg_count += 1;
            post.counted = true;
        }
        this.upsertPost(post);
        if (channelId === this.currentChannelId) {
            this.viewChannel(channelId);
        }
        return post;
    }

    async commandsFor(teamId) {
        if (this.commands && this.commands.teamId === teamId) {
            return this.commands.list;
        }
        try {
            const list = await api.get(`/teams/${teamId}/commands/autocomplete`);
            this.commands = { teamId, list: (list || []).filter((c) => c.auto_complete !== false) };
        } catch (err) {
            console.warn('cannot load commands:', err.message);
            return [];
        }
        return this.commands.list;
    }

    /** Reloads the channel list soon (several events may ask at once). */
    reloadChannelsSoon() {
        clearTimeout(this.reloadTimer);
        this.reloadTimer = setTimeout(() => {
            if (this.teamId) {
                this.loadChannels(this.teamId).catch((err) => console.warn('cannot reload channels:', err.message));
            }
        }, 150);
    }

    handleEvent(msg) {
        const data = msg.data || {};
        switch (msg.event) {
            case 'posted': {
                const post = parsePost(data.post);
                if (!post) {
                    return;
                }
                const channel = this.channels.get(post.channel_id);
                const known = this.postsOf(post.channel_id).byId.get(post.id);
                if (channel && !known) {
                    channel.total_msg_count += 1;
                    channel.last_post_at = Math.max(channel.last_post_at || 0, post.create_at);
                }
                if (!channel && (!data.team_id || data.team_id === this.teamId)) {
                    this.reloadChannelsSoon();
                }
                this.loadUsers([post.user_id]).then(() => {
                    this.upsertPost(post);
                    if (post.channel_id === this.currentChannelId && document.visibilityState !== 'hidden') {
                        this.viewChannel(post.channel_id);
                    } else if (post.user_id === this.me.id) {
                        this.markReadLocally(post.channel_id);
                        this.emit('channels');
                    } else {
                        this.emit('channels');
                    }
                });
                break;
            }
            case 'ephemeral_message': {
                const post = parsePost(data.post);
                if (!post) {
                    return;
                }
                post.type = post.type || EPHEMERAL;
                this.postsOf(post.channel_id); // make sure it is kept even if not loaded yet
                const posts = this.posts.get(post.channel_id);
                if (!posts.loaded) {
                    // Keep it for when the channel is opened.
                    posts.byId.set(post.id, post);
                }
                this.upsertPost(post);
                if (post.channel_id !== this.currentChannelId) {
                    this.ephemeralUnread.add(post.channel_id);
                    this.emit('channels');
                }
                break;
            }
            case 'post_edited': {
                const post = parsePost(data.post);
                if (post) {
                    this.upsertPost(post);
                }
                break;
            }
            case 'post_deleted': {
                const post = parsePost(data.post);
                if (post) {
                    this.removePost(post);
                }
                break;
            }
            case 'channel_viewed': {
                if (data.channel_id) {
                    this.markReadLocally(data.channel_id);
                    this.emit('channels');
                }
                break;
            }
            case 'channel_created':
            case 'direct_added':
                if (!data.team_id || data.team_id === this.teamId) {
                    this.reloadChannelsSoon();
                }
                break;
            case 'user_added':
                if (data.user_id === this.me.id) {
                    this.reloadChannelsSoon();
                }
                break;
            case 'user_removed':
                if (data.channel_id || data.user_id === this.me.id) {
                    this.reloadChannelsSoon();
                }
                break;
            case 'added_to_team':
                if (data.user_id === this.me.id || !data.user_id) {
                    this.loadTeams().catch(() => {});
                }
                break;
            case 'typing': {
                const userId = data.user_id || msg.broadcast?.user_id;
                if (userId && userId !== this.me.id) {
                    this.loadUsers([userId]).then(() => this.emit('typing', {
                        channelId: msg.broadcast?.channel_id || data.channel_id,
                        rootId: data.parent_id || '',
                        userId,
                    }));
                }
                break;
            }
            default:
                break;
        }
    }

    /**
     * After a new websocket connection replaced an old one: fetch what may have been
     * missed. The open channel's posts since the last post seen (minus a margin),
     * the channel list with read positions, and the open thread. Other channels'
     * cached posts are dropped and reload when opened.
     */
    async resync() {
        if (!this.teamId) {
            return;
        }
        const open = this.currentChannelId;
        for (const id of [...this.posts.keys()]) {
            if (id !== open) {
                const posts = this.posts.get(id);
                posts.loaded = false;
                for (const [postId, post] of posts.byId) {
                    if (!isEphemeral(post)) {
                        posts.byId.delete(postId);
                    }
                }
            }
        }
        await this.loadTeams().catch(() => {});
        await this.loadChannels(this.teamId);
        const posts = open ? this.posts.get(open) : null;
        if (posts && posts.loaded) {
            // The server answers at most 1,000 changes at a time, oldest first, with
            // has_next while more follow: ask again from the newest change received.
            let since = Math.max(1, (posts.lastSeenAt || Date.now()) - CATCH_UP_MARGIN_MS);
            for (;;) {
                const list = await api.get(`/channels/${open}/posts${api.qs({ since })}`);
                const fetched = Object.values(list.posts || {});
                await this.loadUsers(fetched.map((p) => p.user_id));
                for (const post of fetched.sort((a, b) => a.create_at - b.create_at)) {
                    if (post.delete_at) {
                        this.removePost(post);
                    } else {
                        this.upsertPost(post);
                    }
                }
                const newest = Math.max(since, ...fetched.map((p) => p.update_at));
                if (!list.has_next || newest <= since) {
                    break;
                }
                since = newest;
            }
            this.viewChannel(open);
        }
        if (this.thread) {
            await this.refreshThread();
        }
    }
}
