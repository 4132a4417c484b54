// Every operation the app sends, with the fields each screen needs.

export const USER_FIELDS = `id email name role active createdAt`;
export const CHAT_FIELDS = `id clientId client { id displayName } lastMessageAt lastMessagePreview lastTransport unreadCount`;
export const MESSAGE_FIELDS = `id chatId text direction transport createdAt readAt status failureReason
  sender { kind displayName userId }
  attachments { blobId fileName contentType size url }`;
export const CLIENT_FIELDS = `id firstName lastName middleName displayName gender dateOfBirth address passportNumber taxPin notes
  createdAt updatedAt chat { id }
  contacts { id kind value label transport consent { status at source } }`;

export const SIGN_IN = `mutation ($tenant: String!, $email: String!, $password: String!) {
  signIn(tenant: $tenant, email: $email, password: $password) { token expiresAt user { ${USER_FIELDS} } } }`;
export const SIGN_OUT = `mutation { signOut }`;
export const ME = `query { me { ${USER_FIELDS} } }`;

export const CHATS = `query ($first: Int!, $after: String, $unreadOnly: Boolean!, $transport: Transport) {
  chats(first: $first, after: $after, unreadOnly: $unreadOnly, transport: $transport) {
    liveCursor pageInfo { hasNextPage endCursor } nodes { ${CHAT_FIELDS} } } }`;
export const CHAT = `query ($id: ID!) { chat(id: $id) { ${CHAT_FIELDS} } }`;
export const HISTORY = `query ($id: ID!, $before: String) { chat(id: $id) {
  messages(first: 40, before: $before) { liveCursor pageInfo { hasNextPage endCursor } nodes { ${MESSAGE_FIELDS} } } } }`;
export const SEARCH = `query ($q: String!) {
  clients(search: $q, first: 8) { nodes { id displayName chat { id } contacts { kind value } } }
  searchMessages(query: $q, first: 8) { id chatId text createdAt } }`;

export const CLIENT = `query ($id: ID!) { client(id: $id) { ${CLIENT_FIELDS} } }`;
export const CREATE_CLIENT = `mutation ($input: CreateClientInput!) { createClient(input: $input) { ${CLIENT_FIELDS} } }`;
export const UPDATE_CLIENT = `mutation ($id: ID!, $input: UpdateClientInput!) { updateClient(id: $id, input: $input) { ${CLIENT_FIELDS} } }`;
export const DELETE_CLIENT = `mutation ($id: ID!) { deleteClient(id: $id) { id } }`;
export const ADD_CONTACT = `mutation ($clientId: ID!, $input: ContactInput!) { addContact(clientId: $clientId, input: $input) { ${CLIENT_FIELDS} } }`;
export const REMOVE_CONTACT = `mutation ($contactId: ID!) { removeContact(contactId: $contactId) { ${CLIENT_FIELDS} } }`;
export const SET_CONSENT = `mutation ($contactId: ID!, $status: ConsentStatus!, $source: String!) {
  setContactConsent(contactId: $contactId, status: $status, source: $source) { ${CLIENT_FIELDS} } }`;
export const OPEN_CHAT = `mutation ($clientId: ID!) { openChat(clientId: $clientId) { ${CHAT_FIELDS} } }`;

export const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { ${MESSAGE_FIELDS} } }`;
export const MARK_READ = `mutation ($chatId: ID!, $upTo: ID!) { markRead(chatId: $chatId, upTo: $upTo) { ${CHAT_FIELDS} } }`;

export const TEMPLATES = `query { templates { id name text updatedAt } }`;
export const CREATE_TEMPLATE = `mutation ($name: String!, $text: String!) { createTemplate(name: $name, text: $text) { id } }`;
export const UPDATE_TEMPLATE = `mutation ($id: ID!, $name: String, $text: String) { updateTemplate(id: $id, name: $name, text: $text) { id } }`;
export const DELETE_TEMPLATE = `mutation ($id: ID!) { deleteTemplate(id: $id) }`;

export const USERS = `query { users { ${USER_FIELDS} } }`;
export const CREATE_USER = `mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }`;
export const UPDATE_USER = `mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id } }`;

export const AUDIT = `query ($after: String) { auditLog(first: 50, after: $after) {
  pageInfo { hasNextPage endCursor } nodes { id kind actor target data at } } }`;

export const CHAT_UPDATED = `subscription ($after: String) { chatUpdated(after: $after) { cursor kind chat { ${CHAT_FIELDS} } } }`;
export const MESSAGE_ADDED = `subscription ($chatId: ID, $after: String) {
  messageAdded(chatId: $chatId, after: $after) { cursor kind message { ${MESSAGE_FIELDS} } } }`;
export const STATUS_CHANGED = `subscription ($chatId: ID, $after: String) {
  deliveryStatusChanged(chatId: $chatId, after: $after) { cursor kind message { ${MESSAGE_FIELDS} } } }`;

export const EXPORT_CLIENT = `mutation ($id: ID!) { exportClient(id: $id) }`;
export const ERASE_CLIENT = `mutation ($id: ID!) { eraseClient(id: $id) { contacts messages auditEntries files } }`;
export const CLIENT_CHANGED = `subscription ($after: String) { clientChanged(after: $after) { cursor kind client { id displayName deletedAt } } }`;
