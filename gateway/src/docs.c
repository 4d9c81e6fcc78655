/* The route table and handlers of docs.h. The /docs assets are compiled in by
 * gateway/docs/embed.py; the problem pages are written from the problem table at each request
 * (a few kilobytes), so they can never disagree with the problems the code answers. */
#include "docs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ulfius.h>

#ifndef DOCS_REDOC_VERSION
#error "DOCS_REDOC_VERSION must name the Redoc version compiled in (gateway/CMakeLists.txt)"
#endif

extern const unsigned char docs_index_html[], docs_docs_js[], docs_redoc_js[], docs_redoc_js_gz[];
extern const size_t docs_index_html_len, docs_docs_js_len, docs_redoc_js_len, docs_redoc_js_gz_len;

/* The page's HTML and script change with the gateway: browsers revalidate them. Redoc's bundle
 * has its version in its path, so it is cached for good. */
#define CACHE_REVALIDATE "no-cache"
#define CACHE_FOREVER    "public, max-age=31536000, immutable"
#define CACHE_PROBLEMS   "public, max-age=3600"

/* The /docs page takes scripts, styles, images and data from the gateway only (Redoc needs inline
 * styles, and starts its search worker from a blob: URL). Redoc's menu footer shows a logo from
 * its CDN: img-src refuses it, so the browser never asks for it. */
#define DOCS_CSP                                                                                   \
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "                    \
    "img-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; "                \
    "form-action 'none'; frame-ancestors 'none'"

/* The problem pages have no script and only their own inline style. */
#define PAGE_CSP                                                                                   \
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "         \
    "frame-ancestors 'none'"

typedef struct docs_asset {
    const char *content_type;
    const char *cache_control;
    const unsigned char *data;
    const size_t *len;
    const unsigned char *gzip_data; /* NULL: served as it is */
    const size_t *gzip_len;
} docs_asset;

static const docs_asset index_html = {"text/html; charset=utf-8",
                                      CACHE_REVALIDATE,
                                      docs_index_html,
                                      &docs_index_html_len,
                                      NULL,
                                      NULL};
static const docs_asset docs_js = {"text/javascript; charset=utf-8",
                                   CACHE_REVALIDATE,
                                   docs_docs_js,
                                   &docs_docs_js_len,
                                   NULL,
                                   NULL};
static const docs_asset redoc_js = {"text/javascript; charset=utf-8",
                                    CACHE_FOREVER,
                                    docs_redoc_js,
                                    &docs_redoc_js_len,
                                    docs_redoc_js_gz,
                                    &docs_redoc_js_gz_len};

/* ---- content negotiation ---- */

/* Whether the media range `range` (length `len`, no parameters) covers `type`, and how
 * specifically: 3 exactly, 2 by its major type's wildcard, 1 by the any-type wildcard, 0 not at
 * all. */
static int range_match(const char *range, size_t len, const char *type)
{
    const char *slash = strchr(type, '/');
    size_t major = (size_t)(slash - type);
    if (len == strlen(type) && strncasecmp(range, type, len) == 0)
        return 3;
    if (len == major + 2 && strncasecmp(range, type, major + 1) == 0 && range[major + 1] == '*')
        return 2;
    return len == 3 && strncmp(range, "*/*", 3) == 0 ? 1 : 0;
}

/* The quality the Accept header gives `type`: that of the most specific range covering it
 * (RFC 9110, 12.5.1), 0 when none does. */
static double accept_quality(const char *accept, const char *type)
{
    double quality = 0;
    int best = 0;
    for (const char *p = accept; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t;,");
        const char *range = p, *end = p + strcspn(p, ",");
        double q = 1;
        for (const char *param = strchr(p, ';'); param && param < end;
             param = strchr(param + 1, ';')) {
            const char *value = param + 1 + strspn(param + 1, " \t");
            if ((value[0] == 'q' || value[0] == 'Q') && value[1] == '=')
                q = strtod(value + 2, NULL);
        }
        int match = len ? range_match(range, len, type) : 0;
        if (match > best) {
            best = match;
            quality = q;
        }
        p = end;
    }
    return quality;
}

int docs_prefers_json(const char *accept)
{
    if (!accept)
        return 0;
    double json = accept_quality(accept, "application/json");
    double problem = accept_quality(accept, "application/problem+json");
    return (json > problem ? json : problem) > accept_quality(accept, "text/html");
}

/* ---- problem pages ---- */

/* HTML text: escaped, with `backquoted` spans as <code>. */
static void put_text(FILE *out, const char *text)
{
    int code = 0;
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '`':
            fputs(code ? "</code>" : "<code>", out);
            code = !code;
            break;
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*c, out);
        }
    }
    if (code)
        fputs("</code>", out);
}

static void put_head(FILE *out, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          out);
    put_text(out, title);
    fputs(" · CRM API</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>\n"
          "body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; "
          "padding: 0 1rem; line-height: 1.5; color: #222; }\n"
          "code, pre { font-family: ui-monospace, \"DejaVu Sans Mono\", monospace; "
          "background: #f4f4f4; }\n"
          "pre { padding: .8rem; overflow-x: auto; }\n"
          "table { border-collapse: collapse; }\n"
          "th, td { text-align: left; vertical-align: top; padding: .4rem .6rem; "
          "border-bottom: 1px solid #ddd; }\n"
          "nav a { margin-right: 1rem; }\n</style>\n</head>\n<body>\n"
          "<nav><a href=\"/docs\">API reference</a><a href=\"/problems\">Problem types</a>"
          "<a href=\"/api/openapi.json\">OpenAPI document</a></nav>\n",
          out);
}

static const char about_problems[] =
    "<p>Every error of the CRM API is an RFC 9457 problem, sent as <code>application/"
    "problem+json</code> with the members <code>type</code> (a relative reference "
    "<code>/problems/&lt;slug&gt;</code> to a page like this), <code>title</code>, "
    "<code>status</code>, <code>detail</code> (what went wrong with "
    "this request) and <code>request_id</code> (the same as the <code>X-Request-Id</code> "
    "header; quote it when you report a problem). A 422 adds <code>errors</code>, one entry per "
    "bad field.</p>\n";

static void put_problem(FILE *out, crm_problem_kind kind)
{
    const char *slug = crm_problem_slug(kind);
    put_head(out, crm_problem_title(kind));
    fprintf(out, "<h1>%u ", crm_problem_status(kind));
    put_text(out, crm_problem_title(kind));
    fprintf(out, "</h1>\n<p>Type <code>/problems/%s</code>, HTTP status %u.</p>\n<p>", slug,
            crm_problem_status(kind));
    put_text(out, crm_problem_description(kind));
    fputs("</p>\n<h2>Example</h2>\n<pre>", out);
    fprintf(out,
            "HTTP/1.1 %u\nContent-Type: application/problem+json\n\n{\"type\": "
            "\"/problems/%s\",\n \"title\": \"",
            crm_problem_status(kind), slug);
    put_text(out, crm_problem_title(kind));
    fprintf(out, "\", \"status\": %u,\n \"detail\": \"…\", \"request_id\": \"…\"}</pre>\n%s",
            crm_problem_status(kind), about_problems);
    fputs("</body>\n</html>\n", out);
}

static void put_index(FILE *out)
{
    put_head(out, "Problem types");
    fputs("<h1>Problem types</h1>\n", out);
    fputs(about_problems, out);
    fputs("<table>\n<tr><th>status</th><th>type</th><th>title</th><th>when, and what to "
          "do</th></tr>\n",
          out);
    for (int kind = 0; kind < CRM_PROBLEM_KIND_MAX; kind++) {
        const char *slug = crm_problem_slug(kind);
        fprintf(out,
                "<tr id=\"%s\"><td>%u</td><td><a href=\"/problems/%s\"><code>/problems/%s</code>"
                "</a></td><td>",
                slug, crm_problem_status(kind), slug, slug);
        put_text(out, crm_problem_title(kind));
        fputs("</td><td>", out);
        put_text(out, crm_problem_description(kind));
        fputs("</td></tr>\n", out);
    }
    fputs("</table>\n<p>As JSON: <code>curl -H 'Accept: application/json' "
          "/problems</code>.</p>\n</body>\n</html>\n",
          out);
}

static json_t *problem_json(crm_problem_kind kind)
{
    char type[64];
    snprintf(type, sizeof(type), "/problems/%s", crm_problem_slug(kind));
    return json_pack("{s:s, s:i, s:s, s:s}", "type", type, "status", (int)crm_problem_status(kind),
                     "title", crm_problem_title(kind), "description",
                     crm_problem_description(kind));
}

static char *problem_page_json(crm_problem_kind kind)
{
    json_t *body = NULL;
    if (kind < CRM_PROBLEM_KIND_MAX) {
        body = problem_json(kind);
    } else {
        json_t *data = json_array();
        for (int k = 0; data && k < CRM_PROBLEM_KIND_MAX; k++)
            json_array_append_new(data, problem_json(k));
        body = json_pack("{s:o?, s:n}", "data", data, "next_cursor");
    }
    char *text = body ? json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    return text;
}

char *docs_problem_page(crm_problem_kind kind, int json)
{
    if (json)
        return problem_page_json(kind);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return NULL;
    if (kind < CRM_PROBLEM_KIND_MAX)
        put_problem(out, kind);
    else
        put_index(out);
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- handlers ---- */

static int accepts_gzip(const struct _u_request *request)
{
    const char *encodings = u_map_get_case(request->map_header, "Accept-Encoding");
    return encodings && strstr(encodings, "gzip") != NULL;
}

static int handle_asset(const struct _u_request *request, struct _u_response *response,
                        void *user_data)
{
    const docs_asset *asset = user_data;
    if (asset->gzip_data && accepts_gzip(request)) {
        ulfius_set_binary_body_response(response, 200, (const char *)asset->gzip_data,
                                        *asset->gzip_len);
        u_map_put(response->map_header, "Content-Encoding", "gzip");
    } else {
        ulfius_set_binary_body_response(response, 200, (const char *)asset->data, *asset->len);
    }
    if (asset->gzip_data)
        u_map_put(response->map_header, "Vary", "Accept-Encoding");
    u_map_put(response->map_header, "Content-Type", asset->content_type);
    u_map_put(response->map_header, "Cache-Control", asset->cache_control);
    u_map_put(response->map_header, "Content-Security-Policy", DOCS_CSP);
    u_map_put(response->map_header, "X-Content-Type-Options", "nosniff");
    u_map_put(response->map_header, "Referrer-Policy", "no-referrer");
    return U_CALLBACK_COMPLETE;
}

static int send_problem_page(const struct _u_request *request, struct _u_response *response,
                             crm_problem_kind kind)
{
    int json = docs_prefers_json(u_map_get_case(request->map_header, "Accept"));
    char *page = docs_problem_page(kind, json);
    if (!page)
        return crm_problem_send(response, CRM_PROBLEM_INTERNAL, "out of memory");
    ulfius_set_binary_body_response(response, 200, page, strlen(page));
    free(page);
    u_map_put(response->map_header, "Content-Type",
              json ? "application/json" : "text/html; charset=utf-8");
    u_map_put(response->map_header, "Vary", "Accept");
    u_map_put(response->map_header, "Cache-Control", CACHE_PROBLEMS);
    u_map_put(response->map_header, "Content-Security-Policy", PAGE_CSP);
    u_map_put(response->map_header, "X-Content-Type-Options", "nosniff");
    return U_CALLBACK_COMPLETE;
}

static int handle_problem_index(const struct _u_request *request, struct _u_response *response,
                                void *user_data)
{
    (void)user_data;
    return send_problem_page(request, response, CRM_PROBLEM_KIND_MAX);
}

static int handle_problem(const struct _u_request *request, struct _u_response *response,
                          void *user_data)
{
    (void)user_data;
    crm_problem_kind kind = crm_problem_kind_of_slug(u_map_get(request->map_url, "slug"));
    if (kind == CRM_PROBLEM_KIND_MAX)
        return crm_problem_send(response, CRM_PROBLEM_NOT_FOUND,
                                "no such problem type; /problems lists them");
    return send_problem_page(request, response, kind);
}

int docs_routes_add(crm_http_server *server)
{
    static const crm_route routes[] = {
        {"GET", "/docs", handle_asset, (void *)&index_html, CRM_ACCESS_PUBLIC},
        {"GET", "/docs/docs.js", handle_asset, (void *)&docs_js, CRM_ACCESS_PUBLIC},
        {"GET", "/docs/redoc-" DOCS_REDOC_VERSION ".standalone.js", handle_asset, (void *)&redoc_js,
         CRM_ACCESS_PUBLIC},
        {"GET", "/problems", handle_problem_index, NULL, CRM_ACCESS_PUBLIC},
        {"GET", "/problems/:slug", handle_problem, NULL, CRM_ACCESS_PUBLIC},
    };
    return crm_http_server_add_routes(server, routes, sizeof(routes) / sizeof(routes[0]));
}
