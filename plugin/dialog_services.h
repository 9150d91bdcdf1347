/* dialog_services.h - what the dialog (ui/) asks of the plug-in: the model a run would use, downloads, previews.
 * Owns: the plug-in's side of vmp_dialog_services (ui/matte_dialog.h). */
#ifndef VMP_DIALOG_SERVICES_H
#define VMP_DIALOG_SERVICES_H

#include "matte_dialog.h"
#include "preview.h"

/* Fills `services` with the plug-in's model line, downloads and the previews of `preview`. */
void vmp_dialog_services_init(vmp_dialog_services *services, vmp_preview *preview);

#endif
