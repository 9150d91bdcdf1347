/* cuda_build_tree.c - the build tree's CUDA module folder, for uninstalled test programs only.
 * Owns: the one definition of vm_cuda_module_build_dir; installed programs never link it (cuda_loader.c). */
#ifndef VM_CUDA_MODULE_BUILD_DIR
#error "engine/meson.build passes VM_CUDA_MODULE_BUILD_DIR"
#endif

const char *vm_cuda_module_build_dir(void);

const char *vm_cuda_module_build_dir(void) { return VM_CUDA_MODULE_BUILD_DIR; }
