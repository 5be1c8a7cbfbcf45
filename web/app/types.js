// @ts-check
// Owns nothing at run time: the JSDoc shapes of the server's JSON (the Mattermost API v4
// subset Chorus speaks) and of the app's own state, for the type check (web/tsconfig.json).
// Modules refer to them as import('./types.js').Post and so on.

/**
 * @typedef {object} User
 * @property {string} id
 * @property {string} username
 * @property {string} [email]
 * @property {string} [roles]
 * @property {string} [first_name]
 * @property {string} [last_name]
 * @property {string} [nickname]
 * @property {Record<string, string>} [notify_props] (one's own only)
 */

/**
 * @typedef {object} Team
 * @property {string} id
 * @property {string} name
 * @property {string} display_name
 * @property {string} [type]
 */

/**
 * A channel: type 'O' open, 'P' private, 'D' direct (name `<userId>__<userId>`).
 * @typedef {object} Channel
 * @property {string} id
 * @property {string} team_id
 * @property {string} type
 * @property {string} name
 * @property {string} display_name
 * @property {string} [purpose]
 * @property {string} [header]
 * @property {number} total_msg_count
 * @property {number} [last_post_at]
 */

/**
 * The signed-in user's read position in a channel.
 * @typedef {object} ChannelMember
 * @property {string} channel_id
 * @property {number} msg_count
 * @property {number} [mention_count]
 * @property {number} [mention_count_root]
 * @property {Record<string, string>} [notify_props]
 * @property {string} [user_id]
 */

/**
 * A team's unread state for the user (`GET /users/me/teams/unread`).
 * @typedef {object} TeamUnread
 * @property {string} team_id
 * @property {number} msg_count
 * @property {number} mention_count
 */

/**
 * A post; `local`, `error` and `counted` are the app's own marks, never sent.
 * @typedef {object} Post
 * @property {string} id
 * @property {string} channel_id
 * @property {string} [root_id]
 * @property {string} user_id
 * @property {string} message
 * @property {string} [type]
 * @property {number} create_at
 * @property {number} [update_at]
 * @property {number} [edit_at]
 * @property {number} [delete_at]
 * @property {number} [reply_count]
 * @property {boolean} [is_pinned]
 * @property {Record<string, unknown>} [props]
 * @property {boolean} [has_reactions]
 * @property {string[]} [file_ids]
 * @property {{reactions?: Reaction[], files?: FileInfo[]}} [metadata]
 * @property {boolean} [local] a note made by the app (never stored on the server)
 * @property {boolean} [error] a local note that reports a failure
 * @property {boolean} [counted] already counted in the channel's total_msg_count
 */

/**
 * @typedef {object} Reaction
 * @property {string} user_id
 * @property {string} post_id
 * @property {string} emoji_name
 * @property {number} [create_at]
 */

/**
 * An uploaded file, as `POST /files` and `metadata.files` describe it.
 * @typedef {object} FileInfo
 * @property {string} id
 * @property {string} name
 * @property {string} [extension]
 * @property {number} size
 * @property {string} [mime_type]
 * @property {number} [width]
 * @property {number} [height]
 * @property {boolean} [has_preview_image]
 */

/**
 * @typedef {object} PostList
 * @property {string[]} [order]
 * @property {Record<string, Post>} [posts]
 * @property {string} [prev_post_id]
 * @property {string} [next_post_id]
 * @property {boolean} [has_next]
 */

/**
 * A slash command as /commands/autocomplete lists it.
 * @typedef {object} Command
 * @property {string} trigger
 * @property {boolean} [auto_complete]
 * @property {string} [auto_complete_hint]
 * @property {string} [auto_complete_desc]
 * @property {string} [description]
 */

/**
 * A websocket event (or, with seq_reply, the answer to an action).
 * @typedef {object} SocketEvent
 * @property {string} [event]
 * @property {Record<string, any>} [data]
 * @property {{channel_id?: string, user_id?: string, team_id?: string}} [broadcast]
 * @property {number} [seq]
 * @property {number} [seq_reply]
 */

/**
 * The open thread.
 * @typedef {object} Thread
 * @property {string} rootId
 * @property {Map<string, Post>} byId
 * @property {boolean} loaded
 * @property {string} error
 * @property {boolean} [deleted]
 * @property {boolean} [rendered]
 */

/**
 * A parsed chat address: /<team>/channels/<name> or /<team>/messages/@<username>.
 * @typedef {object} ChatRoute
 * @property {string} [name]
 * @property {string} team
 * @property {'channel'|'dm'|'permalink'} kind
 * @property {string} [channel] the channel's name or `@username` (not for a permalink)
 * @property {string} [post] a permalink's post id
 */

/**
 * @callback Navigate
 * @param {string} path
 * @param {{replace?: boolean, message?: string}} [options]
 * @returns {void}
 */

/**
 * The top bar a screen shows (see app.js).
 * @typedef {object} Topbar
 * @property {HTMLElement} element
 * @property {(() => void) | null} onMenu
 * @property {(open: boolean) => void} setMenuExpanded
 * @property {() => void} focusMenu
 */

/**
 * What the chat needs of the websocket: sending an action (false when not connected).
 * @typedef {object} SocketSender
 * @property {(action: string, data?: Record<string, unknown>) => boolean} send
 */

/**
 * A plugin as GET /plugins/webapp lists it.
 * @typedef {object} WebappPlugin
 * @property {string} id
 * @property {string} version
 * @property {{bundle_path: string}} webapp
 */

/**
 * A button or menu of a message attachment. `cookie` is what the server sealed into an
 * ephemeral post's action; the integration itself never reaches the client.
 * @typedef {object} PostAction
 * @property {string} [id]
 * @property {string} [name]
 * @property {string} [type] "button" or "select"
 * @property {string} [style] a button's colour: default, primary, success, good, warning, danger
 * @property {string} [data_source] a menu filled with "users" or "channels"
 * @property {{text: string, value: string}[]} [options]
 * @property {boolean} [disabled]
 * @property {string} [cookie]
 */

/**
 * A Slack-style message attachment (`props.attachments[]`).
 * @typedef {object} Attachment
 * @property {string} [fallback]
 * @property {string} [color]
 * @property {string} [pretext]
 * @property {string} [author_name]
 * @property {string} [title]
 * @property {string} [title_link]
 * @property {string} [text]
 * @property {{title?: string, value?: unknown, short?: boolean}[]} [fields]
 * @property {string} [footer]
 * @property {PostAction[]} [actions]
 */

/**
 * One input of an interactive dialog, in Mattermost's shape.
 * @typedef {object} DialogElement
 * @property {string} name
 * @property {string} [display_name]
 * @property {string} type text, textarea, select, bool or radio
 * @property {string} [subtype] for text: email, number, password, tel, url
 * @property {unknown} [default]
 * @property {string} [placeholder]
 * @property {string} [help_text]
 * @property {boolean} [optional]
 * @property {number} [min_length]
 * @property {number} [max_length]
 * @property {string} [data_source]
 * @property {{text: string, value: string}[]} [options]
 */

/**
 * What `open_dialog` carries: the dialog and where its submission goes.
 * @typedef {object} DialogRequest
 * @property {string} trigger_id
 * @property {string} url
 * @property {{callback_id?: string, title?: string, introduction_text?: string, elements?: DialogElement[],
 *   submit_label?: string, notify_on_cancel?: boolean, state?: string}} dialog
 */

/**
 * An integration's answer to a dialog's submission: errors keep the dialog open.
 * @typedef {object} DialogResponse
 * @property {string} [error]
 * @property {Record<string, string>} [errors]
 * @property {string} [type]
 * @property {DialogRequest['dialog']} [form] the next step
 */

/**
 * The store snapshot plugins see (store.getState()).
 * @typedef {object} StoreState
 * @property {User} currentUser
 * @property {Team | null} currentTeam
 * @property {Channel | null} currentChannel
 * @property {string} currentChannelId
 * @property {string} currentTeamId
 */

export {};
