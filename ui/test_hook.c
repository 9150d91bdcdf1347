/* test_hook.c - how the GUI tests (tests/gimp) play the user in the dialog; does nothing in normal use.
 * Owns: polling the command file, carrying the commands out through the widgets' own paths, and the report. */
#include "test_hook.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "matte_preview.h"
#include "model_chooser.h"

typedef struct hook {
  vmp_test_hook_targets t;
  gchar *path;
  guint source;
} hook;

/* An argument from its text, by the type of its property (choices are strings in GIMP 3). */
static void set_property(GimpProcedureConfig *config, const gchar *name, const gchar *text) {
  GParamSpec *pspec = g_object_class_find_property(G_OBJECT_GET_CLASS(config), name);
  if (!pspec)
    return;
  const GType type = G_PARAM_SPEC_VALUE_TYPE(pspec);
  if (type == G_TYPE_INT)
    g_object_set(config, name, (gint)strtol(text, NULL, 10), NULL);
  else if (type == G_TYPE_DOUBLE)
    g_object_set(config, name, g_ascii_strtod(text, NULL), NULL);
  else if (type == G_TYPE_BOOLEAN)
    g_object_set(config, name, strcmp(text, "TRUE") == 0 || strcmp(text, "1") == 0, NULL);
  else if (type == G_TYPE_STRING)
    g_object_set(config, name, text, NULL);
}

static void write_report(hook *h, const gchar *file) {
  GString *report = g_string_new(NULL);
  g_string_append_printf(report, "model-line: %s\n", vmp_model_chooser_status(h->t.chooser));
  vmp_matte_preview_report(h->t.preview, report, file);
  gchar *part = g_strconcat(file, ".part", NULL);
  /* written whole, then renamed: the test never reads half a report */
  if (g_file_set_contents(part, report->str, -1, NULL))
    g_rename(part, file);
  g_free(part);
  g_string_free(report, TRUE);
}

static gboolean poll_commands(gpointer data) {
  hook *h = data;
  gchar *command = NULL;
  if (!g_file_get_contents(h->path, &command, NULL, NULL))
    return G_SOURCE_CONTINUE;
  g_unlink(h->path);
  g_strchomp(command);
  gchar **words = g_strsplit(command, " ", 3);
  const gchar *verb = words[0] ? words[0] : "";
  const gchar *first = words[0] && words[1] ? words[1] : "";
  const gchar *rest = words[0] && words[1] && words[2] ? words[2] : "";
  if (strcmp(verb, "download") == 0 || strcmp(verb, "stop") == 0 || strcmp(verb, "choose") == 0)
    vmp_model_chooser_act(h->t.chooser, verb, first);
  else if (strcmp(verb, "set") == 0)
    set_property(h->t.config, first, rest);
  else if (strcmp(verb, "report") == 0)
    write_report(h, first);
  g_strfreev(words);
  g_free(command);
  return G_SOURCE_CONTINUE;
}

static void on_destroy(GtkWidget *widget, gpointer data) {
  (void)widget;
  hook *h = data;
  g_source_remove(h->source);
  g_free(h->path);
  g_free(h);
}

void vmp_test_hook_install(const vmp_test_hook_targets *targets) {
  const gchar *path = g_getenv(VMP_TEST_HOOK_ENV);
  if (!path || !*path)
    return;
  hook *h = g_new0(hook, 1);
  h->t = *targets;
  h->path = g_strdup(path);
  h->source = g_timeout_add(250, poll_commands, h);
  g_signal_connect(targets->dialog, "destroy", G_CALLBACK(on_destroy), h);
}
