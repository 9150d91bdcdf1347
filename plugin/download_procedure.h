/* download_procedure.h - plug-in-vitmatte-download: the PDB procedure that downloads an official ViTMatte model,
 * for scripts and batch runs (the dialog has a Download button that does the same). */
#ifndef VMP_DOWNLOAD_PROCEDURE_H
#define VMP_DOWNLOAD_PROCEDURE_H

#include <libgimp/gimp.h>

#define VMP_DOWNLOAD_PROC_NAME "plug-in-vitmatte-download"
#define VMP_DOWNLOAD_ARG_MODEL "model"
#define VMP_DOWNLOAD_RET_FOLDER "folder"

GimpProcedure *vmp_download_procedure_new(GimpPlugIn *plug_in);

#endif
