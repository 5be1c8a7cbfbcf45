// @ts-check
// The chat data of the signed-in user: teams, channels with read positions, users,
// and the loaded posts of each channel. It is also the app's only way to the server:
// views call its methods, which call the REST client (api.js); nothing else imports
// api.js. Views listen for its events:
//
//   'channels'         the channel list, an unread state or a channel changed
//   'posts'            {channelId}: the posts of a channel were (re)loaded wholesale
//   'post'             {post, isNew}: one post added or updated
//   'post-removed'     {post}
//   'thread'           the open thread changed (loaded, a reply, an edit)
//   'typing'           {channelId, rootId, userId}
//   'teams'            the team list changed
//   'open-dialog'      {request}: an integration opened a dialog for this user
//   'statuses'         users' statuses (online, away, dnd, offline) changed
//
// Unread: a channel is unread when its `total_msg_count` exceeds the member's
// `msg_count` (as in Mattermost), or when an ephemeral message (a plugin alert)
// arrived in it while it was not open. Mentions: the member's `mention_count`, kept
// live from the `mentions` of `posted` events; other teams' from their unreads.

import * as http from './api.js';
import { qs } from './api.js';

/** @typedef {import('./types.js').User} User */
/** @typedef {import('./types.js').Team} Team */
/** @typedef {import('./types.js').TeamUnread} TeamUnread */
/** @typedef {import('./types.js').Channel} Channel */
/** @typedef {import('./types.js').ChannelMember} ChannelMember */
/** @typedef {import('./types.js').Post} Post */
/** @typedef {import('./types.js').PostList} PostList */
/** @typedef {import('./types.js').Command} Command */
/** @typedef {import('./types.js').SocketEvent} SocketEvent */
/** @typedef {import('./types.js').Thread} Thread */
/** @typedef {import('./types.js').ChatRoute} ChatRoute */
/** @typedef {import('./types.js').WebappPlugin} WebappPlugin */
/** @typedef {import('./types.js').PostAction} PostAction */
/** @typedef {import('./types.js').FileInfo} FileInfo */
/** @typedef {import('./types.js').DialogRequest} DialogRequest */
/** @typedef {import('./types.js').DialogResponse} DialogResponse */
/**
 * The HTTP transport the model talks through: api.js, or a test double.
 * @typedef {Pick<typeof import('./api.js'), 'get' | 'post' | 'put' | 'del' | 'upload' | 'xfetch'>} Transport
 */

export const PAGE_SIZE = 40;
/** How far before the last post seen a catch-up fetch starts (events from different
 * nodes are not ordered by creation time). */
export const CATCH_UP_MARGIN_MS = 5 * 60 * 1000;
/** Replies fetched per request when a thread opens (the server's most per page). */
const THREAD_PAGE = 200;
const EPHEMERAL = 'system_ephemeral';

/** @param {Post} post */
export function isEphemeral(post) {
    return post.type === EPHEMERAL;
}

/**
 * A post from an event's data (JSON text, or already an object).
 * @param {string | Post | null | undefined} value
 * @returns {Post | null}
 */
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

/**
 * An object an event carries as JSON text, or null.
 * @param {unknown} value
 * @returns {object | null}
 */
function parseJsonText(value) {
    if (typeof value !== 'string') {
        return null;
    }
    try {
        const parsed = JSON.parse(value);
        return parsed && typeof parsed === 'object' ? parsed : null;
    } catch {
        return null;
    }
}

/**
 * The user ids of a `posted` event's `mentions` (JSON text of a list), or none.
 * @param {unknown} value
 * @returns {string[]}
 */
export function parseIds(value) {
    if (typeof value !== 'string') {
        return [];
    }
    try {
        const ids = JSON.parse(value);
        return Array.isArray(ids) ? ids.filter((id) => typeof id === 'string') : [];
    } catch {
        return [];
    }
}

/** The loaded posts of one channel. */
export class ChannelPosts {
    constructor() {
        /** @type {Map<string, Post>} */
        this.byId = new Map();
        this.loaded = false;
        this.hasOlder = true;
        this.loadingOlder = false;
        this.lastSeenAt = 0;
    }

    /** @returns {Post[]} oldest first */
    sorted() {
        return [...this.byId.values()].sort((a, b) => a.create_at - b.create_at || a.id.localeCompare(b.id));
    }

    /** The oldest post the server stores (what a "before" page starts from). */
    oldestStored() {
        /** @type {Post | null} */
        let oldest = null;
        for (const post of this.byId.values()) {
            if (!isEphemeral(post) && !post.local && (!oldest || post.create_at < oldest.create_at)) {
                oldest = post;
            }
        }
        return oldest;
    }

    /** @param {Post} post */
    see(post) {
        this.lastSeenAt = Math.max(this.lastSeenAt, post.create_at || 0, post.update_at || 0);
    }
}

/** Whether the page is shown (a post in the open channel of a hidden tab stays unread). */
function pageVisible() {
    return typeof document === 'undefined' || document.visibilityState !== 'hidden';
}

export class Model extends EventTarget {
    /**
     * @param {User} me the signed-in user
     * @param {object} [options]
     * @param {Transport} [options.api] the server (api.js unless a test passes a double)
     * @param {() => boolean} [options.isVisible] whether the page is shown
     */
    constructor(me, { api = http, isVisible = pageVisible } = {}) {
        super();
        this.api = api;
        this.isVisible = isVisible;
        this.me = me;
        /** @type {Team[]} */
        this.teams = [];
        /** @type {Map<string, number>} unread mentions of the teams, by id */
        this.teamMentions = new Map();
        this.teamId = '';
        /** @type {Map<string, Channel>} */
        this.channels = new Map();
        /** @type {Map<string, ChannelMember>} channel id -> read position */
        this.members = new Map();
        /** @type {Map<string, User>} */
        this.users = new Map([[me.id, me]]);
        /** @type {Map<string, ChannelPosts>} */
        this.posts = new Map();
        /** @type {Set<string>} channels with an unseen ephemeral post */
        this.ephemeralUnread = new Set();
        this.currentChannelId = '';
        /** @type {Thread | null} */
        this.thread = null;
        /** @type {Map<string, string>} user id -> status */
        this.statuses = new Map();
        /** @type {Promise<Record<string, string>> | null} shortcode -> glyph */
        this.emojiTable = null;
        /** @type {Record<string, string>} the table, once loaded */
        this.emojiGlyphs = {};
        /** @type {ReturnType<typeof setTimeout> | null} */
        this.viewTimer = null;
        /** @type {string | null} a channel whose read mark waits for viewTimer */
        this.pendingView = null;
        /** @type {ReturnType<typeof setTimeout> | null} */
        this.reloadTimer = null;
        /** @type {{teamId: string, list: Command[]} | null} the current team's slash commands */
        this.commands = null;
        /** @type {Set<string>} ids of the posts the user saved (flagged_post preferences) */
        this.saved = new Set();
    }

    /**
     * @param {string} type
     * @param {Record<string, unknown>} [detail]
     */
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
        /** @type {[Team[], TeamUnread[] | null]} */
        const [teams, unreads] = await Promise.all([
            this.api.get('/users/me/teams'),
            this.api.get('/users/me/teams/unread').catch((err) => {
                console.warn('team unreads unavailable:', err.message);
                return /** @type {TeamUnread[] | null} */ (null);
            }),
        ]);
        this.teams = teams || [];
        this.teams.sort((a, b) => a.display_name.localeCompare(b.display_name));
        this.teamMentions = new Map((unreads || []).map((u) => [u.team_id, u.mention_count]));
        this.emit('teams');
        return this.teams;
    }

    /** Unread mentions in a channel (0 for the open channel of a shown page). @param {Channel} channel */
    mentionCount(channel) {
        return this.members.get(channel.id)?.mention_count || 0;
    }

    /**
     * Unread mentions in a team: the open team's counted from its channels, another
     * team's as the server last said (and as new posts there mention the user).
     * @param {string} teamId
     */
    teamMentionCount(teamId) {
        if (teamId !== this.teamId) {
            return this.teamMentions.get(teamId) || 0;
        }
        return [...this.channels.values()]
            .filter((c) => c.team_id === teamId)
            .reduce((sum, c) => sum + this.mentionCount(c), 0);
    }

    /** Every unread mention: all teams' and the direct channels'. */
    totalMentions() {
        const others = [...this.teamMentions.entries()]
            .filter(([teamId]) => teamId !== this.teamId)
            .reduce((sum, [, count]) => sum + count, 0);
        const here = [...this.channels.values()].reduce((sum, c) => sum + this.mentionCount(c), 0);
        return others + here;
    }

    /**
     * Loads the channel list and read positions of a team (and makes it current).
     * @param {string} [teamId]
     */
    async loadChannels(teamId = this.teamId) {
        /** @type {[Channel[], ChannelMember[] | null]} */
        const [channels, members] = await Promise.all([
            this.api.get(`/users/me/teams/${teamId}/channels`),
            this.api.get(`/users/me/teams/${teamId}/channels/members`).catch((err) => {
                console.warn('channel members unavailable:', err.message);
                return /** @type {ChannelMember[] | null} */ (null);
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

    /** @param {Channel} channel a direct channel */
    directPartnerId(channel) {
        const [a, b] = channel.name.split('__');
        return a === this.me.id ? b : a;
    }

    /** Fetches the users not known yet (a failure only warns). @param {string[]} ids */
    async loadUsers(ids) {
        const missing = [...new Set(ids)].filter((id) => id && !this.users.has(id));
        if (missing.length === 0) {
            return;
        }
        try {
            const users = await this.api.post('/users/ids', missing);
            for (const user of users || []) {
                this.users.set(user.id, user);
            }
        } catch (err) {
            console.warn('cannot load users:', err.message);
        }
    }

    /**
     * Asks the statuses of these users (and of those already known) again; clients
     * poll them, as Mattermost's apps do.
     * @param {string[]} [ids]
     */
    async refreshStatuses(ids = []) {
        const wanted = [...new Set([...this.statuses.keys(), ...ids])].filter(Boolean);
        if (wanted.length === 0) {
            return;
        }
        try {
            /** @type {{user_id: string, status: string}[]} */
            const statuses = await this.api.post('/users/status/ids', wanted.slice(0, 1000));
            let changed = false;
            for (const status of statuses || []) {
                if (this.statuses.get(status.user_id) !== status.status) {
                    this.statuses.set(status.user_id, status.status);
                    changed = true;
                }
            }
            if (changed) {
                this.emit('statuses');
            }
        } catch (err) {
            console.warn('cannot load statuses:', err.message);
        }
    }

    /** @param {string} userId @returns {string} online, away, dnd or offline ('' unknown) */
    statusOf(userId) {
        return this.statuses.get(userId) || '';
    }

    /** The glyph of every emoji shortcode the server knows (loaded once). */
    emojis() {
        if (!this.emojiTable) {
            this.emojiTable = this.api.xfetch('/static/emoji.json')
                .then((response) => (response.ok ? response.json() : {}))
                .then((table) => {
                    this.emojiGlyphs = table;
                    return table;
                })
                .catch((err) => {
                    console.warn('cannot load the emoji table:', err.message);
                    this.emojiTable = null;
                    return {};
                });
        }
        return this.emojiTable;
    }

    /**
     * Adds my reaction to a post, or takes it back if I reacted so already; the
     * events bring the change.
     * @param {Post} post
     * @param {string} emojiName
     */
    async toggleReaction(post, emojiName) {
        const mine = (post.metadata?.reactions || []).some((r) => r.user_id === this.me.id && r.emoji_name === emojiName);
        if (mine) {
            await this.api.del(`/users/${this.me.id}/posts/${post.id}/reactions/${encodeURIComponent(emojiName)}`);
            this.applyReaction({ user_id: this.me.id, post_id: post.id, emoji_name: emojiName }, false);
        } else {
            const reaction = await this.api.post('/reactions', { user_id: this.me.id, post_id: post.id, emoji_name: emojiName });
            this.applyReaction(reaction, true);
        }
    }

    /**
     * A reaction added or removed, on the post wherever it is held.
     * @param {{user_id: string, post_id: string, emoji_name: string, create_at?: number}} reaction
     * @param {boolean} added
     */
    applyReaction(reaction, added) {
        for (const list of this.posts.values()) {
            const post = list.byId.get(reaction.post_id);
            if (!post) {
                continue;
            }
            const others = (post.metadata?.reactions || []).filter((r) => !(r.user_id === reaction.user_id && r.emoji_name === reaction.emoji_name));
            const reactions = added ? [...others, reaction] : others;
            this.upsertPost({ ...post, has_reactions: reactions.length > 0, metadata: { ...post.metadata, reactions } });
        }
    }

    /** Which posts the user saved, from their `flagged_post` preferences. */
    async loadSaved() {
        /** @type {Array<{name: string, value: string}>} */
        const prefs = await this.api.get(`/users/${this.me.id}/preferences/flagged_post`).catch(() => /** @type {any[]} */ ([]));
        this.saved = new Set(prefs.filter((p) => p.value === 'true').map((p) => p.name));
        this.emit('saved');
    }

    /** Saves or unsaves a post (Mattermost's flagged posts). @param {string} postId @param {boolean} save */
    async setSaved(postId, save) {
        const preference = [{ user_id: this.me.id, category: 'flagged_post', name: postId, value: 'true' }];
        if (save) {
            await this.api.put(`/users/${this.me.id}/preferences`, preference);
        } else {
            await this.api.post(`/users/${this.me.id}/preferences/delete`, preference);
        }
        this.applySaved(preference, save);
    }

    /**
     * Saved posts changed here or in another tab (preferences events).
     * @param {Array<{category: string, name: string, value?: string}>} preferences
     * @param {boolean} saved
     */
    applySaved(preferences, saved) {
        let changed = false;
        for (const pref of preferences) {
            if (pref.category !== 'flagged_post') {
                continue;
            }
            const on = saved && pref.value === 'true';
            if (on !== this.saved.has(pref.name)) {
                changed = true;
            }
            if (on) {
                this.saved.add(pref.name);
            } else {
                this.saved.delete(pref.name);
            }
        }
        if (changed) {
            this.emit('saved');
        }
    }

    /** The saved posts the user may read, newest first (all teams' channels). */
    async savedPosts() {
        return this.postsFromList(await this.api.get(`/users/${this.me.id}/posts/flagged${qs({ per_page: 200 })}`));
    }

    /** Pins or unpins a post; the channel hears of it as an edit. @param {Post} post @param {boolean} pinned */
    async setPinned(post, pinned) {
        await this.api.post(`/posts/${post.id}/${pinned ? 'pin' : 'unpin'}`);
        // the same update_at: the server's post_edited, newer, still replaces this
        this.upsertPost({ ...post, is_pinned: pinned });
    }

    /** A channel's pinned posts, newest first. @param {string} channelId */
    async pinnedPosts(channelId) {
        return this.postsFromList(await this.api.get(`/channels/${channelId}/pinned`));
    }

    /** One post, read from the server. @param {string} postId @returns {Promise<Post>} */
    async fetchPost(postId) {
        /** @type {Post} */
        const post = await this.api.get(`/posts/${postId}`);
        await this.loadUsers([post.user_id]);
        return post;
    }

    /**
     * The channel a post is in: from the loaded channels, else from the server (a
     * channel of another team, which the caller switches to).
     * @param {Post} post
     * @returns {Promise<Channel>}
     */
    async channelOfPost(post) {
        return this.channels.get(post.channel_id) || this.api.get(`/channels/${post.channel_id}`);
    }

    /**
     * People whose username or names start with `prefix`: the channel's, then (as
     * `out_of_channel`) the team's others; without a channel, the team's.
     * @param {string} teamId @param {string} channelId @param {string} prefix
     * @returns {Promise<{users: User[], out_of_channel?: User[]}>}
     */
    async autocompleteUsers(teamId, channelId, prefix) {
        /** @type {{users: User[], out_of_channel?: User[]}} */
        const found = await this.api.get(`/users/autocomplete${qs({ in_team: teamId, in_channel: channelId, name: prefix, limit: 25 })}`);
        for (const user of [...found.users, ...(found.out_of_channel || [])]) {
            if (!this.users.has(user.id)) {
                this.users.set(user.id, user);
            }
        }
        return found;
    }

    /** The team's channels one may open whose name or a word of it starts with `prefix`. @param {string} teamId @param {string} prefix @returns {Promise<Channel[]>} */
    async autocompleteChannels(teamId, prefix) {
        return this.api.get(`/teams/${teamId}/channels/autocomplete${qs({ name: prefix })}`);
    }

    /**
     * The posts a search finds in a team's channels (and one's direct ones), newest
     * first; dates in the terms are this browser's days.
     * @param {string} teamId @param {string} terms @returns {Promise<Post[]>}
     */
    async searchPosts(teamId, terms) {
        const body = { terms, time_zone_offset: -new Date().getTimezoneOffset() * 60, page: 0, per_page: 60 };
        return this.postsFromList(await this.api.post(`/teams/${teamId}/posts/search`, body));
    }

    /** A list's posts in its order, their authors loaded. @param {PostList} list @returns {Promise<Post[]>} */
    async postsFromList(list) {
        const posts = (list.order || []).map((id) => list.posts[id]).filter(Boolean);
        await this.loadUsers(posts.map((p) => p.user_id));
        return posts;
    }

    /**
     * Loads older pages of a channel until a post is among them (or `maxPages` were
     * read, or history ends); answers whether it is loaded.
     * @param {string} channelId
     * @param {string} postId
     * @param {number} [maxPages]
     */
    async loadUntil(channelId, postId, maxPages = 25) {
        const posts = this.postsOf(channelId);
        if (!posts.loaded) {
            await this.loadPosts(channelId);
        }
        for (let page = 0; page < maxPages && !posts.byId.has(postId) && posts.hasOlder;) {
            if (posts.loadingOlder) {
                // the channel view is loading a page already: wait for it
                await new Promise((resolve) => setTimeout(resolve, 50));
                continue;
            }
            await this.loadOlder(channelId);
            page += 1;
        }
        return posts.byId.has(postId);
    }

    /**
     * Uploads one file into a channel, for a post to attach.
     * @param {string} channelId
     * @param {File} file
     * @param {(fraction: number) => void} [onProgress]
     * @returns {Promise<FileInfo>}
     */
    async uploadFile(channelId, file, onProgress) {
        const form = new FormData();
        form.append('channel_id', channelId);
        form.append('files', file, file.name);
        const answer = await this.api.upload('/files', form, onProgress);
        const info = answer && answer.file_infos && answer.file_infos[0];
        if (!info) {
            throw new Error(`The server kept nothing of ${file.name}.`);
        }
        return info;
    }

    /** @param {string} id */
    userName(id) {
        if (!id) {
            return 'System';
        }
        const user = this.users.get(id);
        return user ? user.username : 'someone';
    }

    /** @param {Channel | null} channel */
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

    /** Whether the user muted a channel (only mentions mark it unread). @param {Channel} channel */
    isMuted(channel) {
        return this.members.get(channel.id)?.notify_props?.mark_unread === 'mention';
    }

    /**
     * Mutes or unmutes a channel for the user, on the server, then here.
     * @param {string} channelId
     * @param {boolean} muted
     */
    async setMuted(channelId, muted) {
        const props = { mark_unread: muted ? 'mention' : 'all' };
        await this.api.put(`/channels/${channelId}/members/me/notify_props`, props);
        this.applyMemberProps(channelId, props);
    }

    /** @param {string} channelId @param {Record<string, string>} props */
    applyMemberProps(channelId, props) {
        const member = this.members.get(channelId);
        if (member) {
            member.notify_props = { ...member.notify_props, ...props };
            this.emit('channels');
        }
    }

    /** @param {Channel} channel */
    isUnread(channel) {
        if (this.ephemeralUnread.has(channel.id)) {
            return true;
        }
        if (this.isMuted(channel)) {
            return false;
        }
        const member = this.members.get(channel.id);
        return Boolean(member) && channel.total_msg_count > member.msg_count;
    }

    /**
     * Whether a new post calls for a desktop notification, as Mattermost decides it:
     * someone else's post, not in the channel being looked at, and the channel's
     * `desktop` setting (or, at "default", the user's: mentions unless changed) asks
     * for it; direct messages count as mentions; muted channels stay quiet.
     * @param {Post} post @param {Channel} channel @param {boolean} mentionsMe
     */
    wantsDesktopNotice(post, channel, mentionsMe) {
        if (post.user_id === this.me.id || (post.type || '').startsWith('system_')) {
            return false;
        }
        if (post.channel_id === this.currentChannelId && this.isVisible()) {
            return false;
        }
        const member = this.members.get(channel.id);
        const own = member?.notify_props?.desktop;
        const level = own && own !== 'default' ? own : (this.me.notify_props?.desktop || 'mention');
        if (level === 'none' || (this.isMuted(channel) && level !== 'all')) {
            return false;
        }
        return level === 'all' || mentionsMe || channel.type === 'D';
    }

    /** Whether notifications make a sound (the user's `desktop_sound`, on unless "false"). */
    wantsSound() {
        return this.me.notify_props?.desktop_sound !== 'false';
    }

    /** @param {string} channelId */
    markReadLocally(channelId) {
        const channel = this.channels.get(channelId);
        const member = this.members.get(channelId);
        if (channel && member) {
            member.msg_count = channel.total_msg_count;
            member.mention_count = 0;
            member.mention_count_root = 0;
        }
        this.ephemeralUnread.delete(channelId);
    }

    /**
     * Marks the channel read now (locally) and on the server, debounced per channel:
     * a pending mark for another channel is sent at once, never dropped.
     * @param {string} channelId
     */
    viewChannel(channelId) {
        this.markReadLocally(channelId);
        this.emit('channels');
        const send = (/** @type {string} */ id) => this.api.post('/channels/members/me/view', { channel_id: id }).catch((err) => {
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

    /**
     * Marks a channel unread from a post on (Mattermost's "Mark as Unread"); a read
     * mark still waiting to go to the server for it is dropped, so it cannot undo this.
     * @param {Post} post
     */
    async markUnread(post) {
        if (this.pendingView === post.channel_id) {
            clearTimeout(this.viewTimer);
            this.pendingView = null;
        }
        const state = await this.api.post(`/users/${this.me.id}/posts/${post.id}/set_unread`, { collapsed_threads_supported: false });
        this.applyUnread(state);
    }

    /**
     * A channel's unread state from set_unread (here, or a post_unread event from
     * another tab): its unread messages and mentions.
     * @param {{channel_id?: string, msg_count?: number, mention_count?: number, mention_count_root?: number}} state
     */
    applyUnread(state) {
        const channel = this.channels.get(state.channel_id || '');
        const member = this.members.get(state.channel_id || '');
        if (!channel || !member) {
            return;
        }
        member.msg_count = Math.max(0, channel.total_msg_count - (state.msg_count || 0));
        member.mention_count = state.mention_count || 0;
        member.mention_count_root = state.mention_count_root || 0;
        this.emit('channels');
    }

    /** The posts of a channel (an empty, unloaded set until loadPosts). @param {string} channelId */
    postsOf(channelId) {
        let posts = this.posts.get(channelId);
        if (!posts) {
            posts = new ChannelPosts();
            this.posts.set(channelId, posts);
        }
        return posts;
    }

    /**
     * First page of a channel (newest PAGE_SIZE posts); keeps ephemeral ones.
     * @param {string} channelId
     */
    async loadPosts(channelId) {
        /** @type {PostList} */
        const list = await this.api.get(`/channels/${channelId}/posts${qs({ page: 0, per_page: PAGE_SIZE })}`);
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

    /**
     * The page before the oldest loaded post; resolves the number of posts added.
     * @param {string} channelId
     */
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
            /** @type {PostList} */
            const list = await this.api.get(`/channels/${channelId}/posts${qs({ before: oldest.id, per_page: PAGE_SIZE })}`);
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

    /**
     * @param {ChannelPosts} posts
     * @param {PostList} list
     */
    mergeList(posts, list) {
        for (const id of list.order || []) {
            const post = list.posts[id];
            if (post && !post.delete_at) {
                posts.byId.set(id, post);
                posts.see(post);
            }
        }
    }

    /** Adds or updates a post from an event or a reply. @param {Post} post */
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

    /** @param {Post} post */
    removePost(post) {
        // An ephemeral post taken back names only itself: find its channel.
        if (!post.channel_id) {
            const holder = [...this.posts.entries()].find(([, list]) => list.byId.has(post.id));
            if (!holder) {
                return;
            }
            post = { ...post, channel_id: holder[0] };
        }
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

    /**
     * A local note in a channel (a command's error, say), shown like an ephemeral post.
     * @param {string} channelId
     * @param {string} message
     * @param {{rootId?: string, error?: boolean}} [options]
     */
    addLocalNote(channelId, message, { rootId = '', error = false } = {}) {
        const now = Date.now();
        /** @type {Post} */
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

    /** @param {string} rootId */
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
            /** @type {Map<string, Post>} */
            const byId = new Map();
            /** @type {Post | null} */
            let cursor = null;
            for (;;) {
                /** @type {Record<string, string | number>} */
                const query = { perPage: THREAD_PAGE, direction: 'down' };
                if (cursor) {
                    query.fromPost = cursor.id;
                    query.fromCreateAt = cursor.create_at;
                }
                /** @type {PostList} */
                const list = await this.api.get(`/posts/${thread.rootId}/thread${qs(query)}`);
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

    /**
     * @param {string} channelId
     * @param {string} message
     * @param {string} [rootId]
     * @param {string[]} [fileIds] uploaded files to attach
     * @returns {Promise<Post>}
     */
    async createPost(channelId, message, rootId = '', fileIds = []) {
        /** @type {Post} */
        const post = await this.api.post('/posts', {
            channel_id: channelId,
            message,
            root_id: rootId,
            file_ids: fileIds,
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

    /** @param {string} teamId @returns {Promise<Command[]>} */
    async commandsFor(teamId) {
        if (this.commands && this.commands.teamId === teamId) {
            return this.commands.list;
        }
        try {
            /** @type {Command[]} */
            const list = await this.api.get(`/teams/${teamId}/commands/autocomplete`);
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

    /** Applies a websocket event. @param {SocketEvent} msg */
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
                const mentionsMe = post.user_id !== this.me.id && parseIds(data.mentions).includes(this.me.id);
                if (channel && !known) {
                    channel.total_msg_count += 1;
                    channel.last_post_at = Math.max(channel.last_post_at || 0, post.create_at);
                    const member = this.members.get(channel.id);
                    if (member && mentionsMe) {
                        member.mention_count = (member.mention_count || 0) + 1;
                        if (!post.root_id) {
                            member.mention_count_root = (member.mention_count_root || 0) + 1;
                        }
                    }
                }
                if (!channel && mentionsMe && data.team_id && data.team_id !== this.teamId) {
                    this.teamMentions.set(data.team_id, (this.teamMentions.get(data.team_id) || 0) + 1);
                    this.emit('teams');
                }
                if (!channel && (!data.team_id || data.team_id === this.teamId)) {
                    this.reloadChannelsSoon();
                }
                const notice = !known && channel && this.wantsDesktopNotice(post, channel, mentionsMe);
                this.loadUsers([post.user_id]).then(() => {
                    this.upsertPost(post);
                    if (notice && channel) {
                        this.emit('notify', { post, channel });
                    }
                    if (post.channel_id === this.currentChannelId && this.isVisible()) {
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
            case 'channel_member_updated': {
                // Another tab or device changed this user's settings of a channel.
                const member = /** @type {ChannelMember | null} */ (parseJsonText(data.channelMember));
                if (member && member.user_id === this.me.id && member.notify_props) {
                    this.applyMemberProps(member.channel_id, member.notify_props);
                }
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
            case 'reaction_added':
            case 'reaction_removed': {
                try {
                    const reaction = JSON.parse(String(data.reaction));
                    this.applyReaction(reaction, msg.event === 'reaction_added');
                } catch (err) {
                    console.warn(`a ${msg.event} event without a readable reaction`, err);
                }
                break;
            }
            case 'status_change': {
                if (data.user_id && data.status && this.statuses.get(String(data.user_id)) !== data.status) {
                    this.statuses.set(String(data.user_id), String(data.status));
                    this.emit('statuses');
                }
                break;
            }
            case 'open_dialog': {
                try {
                    /** @type {DialogRequest} */
                    const request = JSON.parse(String(data.dialog));
                    if (request && request.dialog) {
                        this.emit('open-dialog', { request });
                    }
                } catch (err) {
                    console.warn('an open_dialog event without a readable dialog', err);
                }
                break;
            }
            case 'post_unread':
                this.applyUnread(data);
                break;
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
            case 'preferences_changed':
            case 'preferences_deleted':
                try {
                    this.applySaved(JSON.parse(data.preferences || '[]'), msg.event === 'preferences_changed');
                } catch {
                    // a malformed list changes nothing
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
     * missed. The open channel's posts since the last post seen (minus a margin), or
     * its first page when it had not loaded yet,
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
        if (open && !(posts && posts.loaded)) {
            // The first load of the open channel was cut off by the disconnection (or
            // never ran): load it now, or the page would stay without its posts.
            await this.loadPosts(open);
            this.viewChannel(open);
        } else if (posts && posts.loaded) {
            // The server answers at most 1,000 changes at a time, oldest first, with
            // has_next while more follow: ask again from the newest change received.
            let since = Math.max(1, (posts.lastSeenAt || Date.now()) - CATCH_UP_MARGIN_MS);
            for (;;) {
                /** @type {PostList} */
                const list = await this.api.get(`/channels/${open}/posts${qs({ since })}`);
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

    // ---- posts, channels and people on the server ----------------------------------

    /**
     * Changes a post's text; the answer updates the model like an edit event.
     * @param {string} postId
     * @param {string} message
     * @returns {Promise<Post>}
     */
    async editPost(postId, message) {
        /** @type {Post} */
        const updated = await this.api.put(`/posts/${postId}/patch`, { message });
        this.upsertPost(updated);
        return updated;
    }

    /**
     * Clicks a message button or picks a menu option; the integration's answer arrives
     * as events (an edited post, an ephemeral message, a dialog).
     * @param {Post} post
     * @param {PostAction} action
     * @param {string} [selectedOption]
     */
    async doPostAction(post, action, selectedOption = '') {
        /** @type {Record<string, string>} */
        const body = { selected_option: selectedOption };
        if (action.cookie) {
            body.cookie = action.cookie;
        }
        return this.api.post(`/posts/${post.id}/actions/${encodeURIComponent(action.id || '')}`, body);
    }

    /**
     * Sends a dialog's answers (or its cancellation) to its integration, from the open
     * channel.
     * @param {DialogRequest} request
     * @param {Record<string, unknown>} submission
     * @param {boolean} cancelled
     * @returns {Promise<DialogResponse>}
     */
    async submitDialog(request, submission, cancelled) {
        return this.api.post('/actions/dialogs/submit', {
            url: request.url,
            callback_id: request.dialog.callback_id || '',
            state: request.dialog.state || '',
            channel_id: this.currentChannelId,
            team_id: this.teamId || '',
            submission,
            cancelled,
        });
    }

    /** Deletes a post on the server, then here. @param {Post} post */
    async deletePost(post) {
        await this.api.del(`/posts/${post.id}`);
        this.removePost(post);
    }

    /**
     * Runs a slash command (its answer, if any, arrives as events).
     * @param {{channel_id: string, team_id: string, root_id: string, command: string}} args
     */
    async executeCommand(args) {
        return this.api.post('/commands/execute', args);
    }

    /** A team's open channels (up to 200), member or not. @param {string} teamId @returns {Promise<Channel[]>} */
    async openChannels(teamId) {
        return this.api.get(`/teams/${teamId}/channels${qs({ per_page: 200 })}`);
    }

    /**
     * Joins a channel and reloads the team's channel list.
     * @param {string} channelId
     * @param {string} [teamId]
     */
    async joinChannel(channelId, teamId = this.teamId) {
        await this.api.post(`/channels/${channelId}/members`, { user_id: this.me.id });
        await this.loadChannels(teamId);
    }

    /**
     * Creates a channel and reloads the team's channel list.
     * @param {string} teamId
     * @param {{display_name: string, name: string, type: string}} fields
     * @returns {Promise<Channel>}
     */
    async createChannel(teamId, fields) {
        /** @type {Channel} */
        const channel = await this.api.post('/channels', { team_id: teamId, ...fields });
        await this.loadChannels(teamId);
        return channel;
    }

    /**
     * The direct channel with `user` (created if need be), after reloading the list.
     * @param {User} user
     * @param {string} [teamId]
     * @returns {Promise<Channel>}
     */
    async openDirect(user, teamId = this.teamId) {
        /** @type {Channel} */
        const channel = await this.api.post('/channels/direct', [this.me.id, user.id]);
        this.users.set(user.id, user);
        await this.loadChannels(teamId);
        return this.channels.get(channel.id) || channel;
    }

    /** A team's members (up to 200) by username, remembered. @param {string} teamId @returns {Promise<User[]>} */
    async teamUsers(teamId) {
        /** @type {User[]} */
        const found = await this.api.get(`/users${qs({ in_team: teamId, per_page: 200 })}`);
        const users = (found || []).sort((a, b) => a.username.localeCompare(b.username));
        users.forEach((u) => this.users.has(u.id) || this.users.set(u.id, u));
        return users;
    }

    /**
     * The channel a chat address names. An open channel the user is not in is joined
     * (as in Mattermost); a direct channel is created when there is none yet.
     * @param {Team} team
     * @param {ChatRoute} route
     * @returns {Promise<Channel>}
     */
    async channelForRoute(team, route) {
        if (route.kind === 'dm') {
            const username = route.channel.replace(/^@/, '');
            let user = [...this.users.values()].find((u) => u.username === username);
            if (!user) {
                user = /** @type {User} */ (await this.api.get(`/users/username/${encodeURIComponent(username)}`));
                this.users.set(user.id, user);
            }
            const existing = [...this.channels.values()].find((c) => c.type === 'D' && this.directPartnerId(c) === user.id);
            if (existing) {
                return existing;
            }
            /** @type {Channel} */
            const channel = await this.api.post('/channels/direct', [this.me.id, user.id]);
            await this.loadChannels(team.id);
            return this.channels.get(channel.id) || channel;
        }
        const existing = [...this.channels.values()].find((c) => c.name === route.channel && c.team_id === team.id);
        if (existing) {
            return existing;
        }
        /** @type {Channel} */
        const channel = await this.api.get(`/teams/${team.id}/channels/name/${encodeURIComponent(route.channel)}`);
        if (channel.type === 'O') {
            await this.api.post(`/channels/${channel.id}/members`, { user_id: this.me.id });
            await this.loadChannels(team.id);
            return this.channels.get(channel.id) || channel;
        }
        return channel;
    }

    // ---- teams ------------------------------------------------------------------

    /** Every team the user may see (joined or open to join). @returns {Promise<Team[]>} */
    async allTeams() {
        return this.api.get('/teams');
    }

    /**
     * Creates a team, then reloads the user's teams.
     * @param {{display_name: string, name: string, type: string}} fields
     * @returns {Promise<Team>}
     */
    async createTeam(fields) {
        /** @type {Team} */
        const team = await this.api.post('/teams', fields);
        await this.loadTeams();
        return team;
    }

    /** Joins a team, then reloads the user's teams. @param {Team} team */
    async joinTeam(team) {
        await this.api.post(`/teams/${team.id}/members`, { team_id: team.id, user_id: this.me.id });
        await this.loadTeams();
    }

    // ---- the session ---------------------------------------------------------------

    async logout() {
        await this.api.post('/users/logout');
    }

    /** Asks the server whether the session still holds (a 401 ends it, see onSessionEnded). */
    async checkSession() {
        await this.api.get('/users/me');
    }

    // ---- plugins (the plugin host) and the System Console ------------------------------

    /** The plugins whose web bundle runs on this node. @returns {Promise<WebappPlugin[]>} */
    async webappPlugins() {
        return this.api.get('/plugins/webapp');
    }

    /** fetch() as the app makes it (CSRF header, cookie); plugins get it as store.fetch. */
    pluginFetch(/** @type {string} */ url, /** @type {RequestInit} */ options) {
        return this.api.xfetch(url, options);
    }

    /** @returns {Promise<{node_id?: string}>} */
    async systemPing() {
        return this.api.get('/system/ping');
    }

    /** @returns {Promise<{active?: any[], inactive?: any[]}>} installed plugins' manifests */
    async plugins() {
        return this.api.get('/plugins');
    }

    /** @returns {Promise<any[]>} each plugin's state on each node */
    async pluginStatuses() {
        return this.api.get('/plugins/statuses');
    }

    /**
     * Uploads a plugin bundle; resolves its manifest.
     * @param {FormData} form
     * @param {(fraction: number) => void} onProgress
     */
    async uploadPlugin(form, onProgress) {
        return this.api.upload('/plugins', form, onProgress);
    }

    /** @param {string} id */
    async enablePlugin(id) {
        return this.api.post(`/plugins/${encodeURIComponent(id)}/enable`);
    }

    /** @param {string} id */
    async disablePlugin(id) {
        return this.api.post(`/plugins/${encodeURIComponent(id)}/disable`);
    }

    /** @param {string} id */
    async removePlugin(id) {
        return this.api.del(`/plugins/${encodeURIComponent(id)}`);
    }

    /** @returns {Promise<any>} the server configuration */
    async config() {
        return this.api.get('/config');
    }

    /** @param {object} patch */
    async patchConfig(patch) {
        return this.api.put('/config/patch', patch);
    }

    /** @returns {Promise<any[]>} the live nodes */
    async clusterStatus() {
        return this.api.get('/cluster/status');
    }
}

// ---- before there is a model: signing in -------------------------------------------

/** The signed-in user, or an ApiError (status 401 when nobody is). @returns {Promise<User>} */
export function currentUser() {
    return http.get('/users/me', { quiet401: true });
}

/**
 * @param {string} loginId username or email
 * @param {string} password
 * @returns {Promise<User>}
 */
export function logIn(loginId, password) {
    return http.post('/users/login', { login_id: loginId, password }, { quiet401: true });
}

/**
 * Creates an account (logging in is a separate step).
 * @param {{username: string, email: string, password: string}} fields
 */
export function signUp(fields) {
    return http.post('/users', fields);
}

/** fn(error) whenever a request answers 401 (the session ended). */
export const onSessionEnded = http.onUnauthorized;
