/**
 * A stand-in for the agents' APIs on the host's loopback: records every request and answers
 * Anthropic's Messages API (streamed or not) and Gemini's generateContent (streamed or not)
 * with one line of text, STAND_IN_TEXT (in JSON where Gemini asks for JSON).
 */
import {createServer, type IncomingHttpHeaders, type Server} from 'node:http'

export const STAND_IN_TEXT = 'hello from the stand-in'

export interface Received {
  url?: string
  headers: IncomingHttpHeaders
  body: string
}

const sse = (events: Array<[string | undefined, unknown]>) =>
  events.map(([event, data]) => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`).join('')

function anthropic(body: string): {type: string; body: string} {
  const message = {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-5',
    content: [],
    stop_reason: null,
    usage: {input_tokens: 1, output_tokens: 1},
  }
  if (!/"stream":\s*true/.test(body))
    return {
      type: 'application/json',
      body: JSON.stringify({...message, content: [{type: 'text', text: STAND_IN_TEXT}], stop_reason: 'end_turn'}),
    }
  return {
    type: 'text/event-stream',
    body: sse([
      ['message_start', {type: 'message_start', message}],
      ['content_block_start', {type: 'content_block_start', index: 0, content_block: {type: 'text', text: ''}}],
      [
        'content_block_delta',
        {type: 'content_block_delta', index: 0, delta: {type: 'text_delta', text: STAND_IN_TEXT}},
      ],
      ['content_block_stop', {type: 'content_block_stop', index: 0}],
      [
        'message_delta',
        {type: 'message_delta', delta: {stop_reason: 'end_turn', stop_sequence: null}, usage: {output_tokens: 5}},
      ],
      ['message_stop', {type: 'message_stop'}],
    ]),
  }
}

/**
 * What Gemini CLI asks for JSON (its model router, its next-speaker check) gets JSON both
 * accept: anything else it takes for a failed call, and retries with backoff for a minute.
 */
const GEMINI_JSON = JSON.stringify({reasoning: STAND_IN_TEXT, model_choice: 'flash', next_speaker: 'user'})

function gemini(url: string, body: string): {type: string; body: string} {
  const text = /"responseMimeType":\s*"application\/json"/.test(body) ? GEMINI_JSON : STAND_IN_TEXT
  const answer = {
    candidates: [{content: {role: 'model', parts: [{text}]}, finishReason: 'STOP', index: 0}],
    usageMetadata: {promptTokenCount: 1, candidatesTokenCount: 5, totalTokenCount: 6},
  }
  if (url.includes(':countTokens')) return {type: 'application/json', body: JSON.stringify({totalTokens: 1})}
  if (url.includes(':streamGenerateContent')) return {type: 'text/event-stream', body: sse([[undefined, answer]])}
  return {type: 'application/json', body: JSON.stringify(answer)}
}

function standInApi(received: Received[]): Server {
  return createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      const url = request.url ?? ''
      received.push({url, headers: request.headers, body})
      const answer = url.startsWith('/v1/messages')
        ? anthropic(body)
        : /^\/v1(beta)?\/models\/[^/]+:/.test(url)
          ? gemini(url, body)
          : undefined
      if (!answer) return response.writeHead(404, {'content-type': 'application/json'}).end('{}')
      response.writeHead(200, {'content-type': answer.type}).end(answer.body)
    })
  })
}

/** The stand-in, listening on a free port of the host's loopback. */
export async function startStandInApi(received: Received[]): Promise<{server: Server; port: number}> {
  const server = standInApi(received)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {server, port: (server.address() as {port: number}).port}
}
