/* ntio compat: SAL annotations and the IN/OUT/OPTIONAL markers compile to nothing.
 * Windows code sprinkles them everywhere; they carry no meaning for the compiler here. */
#ifndef NTIO_COMPAT_SAL_H
#define NTIO_COMPAT_SAL_H

#ifndef IN
#define IN
#endif
#ifndef OUT
#define OUT
#endif
#ifndef OPTIONAL
#define OPTIONAL
#endif
#ifndef UNALIGNED
#define UNALIGNED
#endif

#define _In_
#define _In_opt_
#define _In_z_
#define _In_opt_z_
#define _In_reads_(n)
#define _In_reads_opt_(n)
#define _In_reads_bytes_(n)
#define _In_reads_bytes_opt_(n)
#define _Out_
#define _Out_opt_
#define _Out_writes_(n)
#define _Out_writes_opt_(n)
#define _Out_writes_bytes_(n)
#define _Out_writes_bytes_opt_(n)
#define _Out_writes_to_(n, c)
#define _Out_writes_bytes_to_(n, c)
#define _Out_writes_bytes_to_opt_(n, c)
#define _Out_writes_z_(n)
#define _Inout_
#define _Inout_opt_
#define _Inout_z_
#define _Inout_updates_(n)
#define _Inout_updates_opt_(n)
#define _Inout_updates_bytes_(n)
#define _Outptr_
#define _Outptr_opt_
#define _Outptr_result_maybenull_
#define _Outptr_result_bytebuffer_(n)
#define _Deref_out_
#define _Deref_out_range_(a, b)
#define _Ret_
#define _Ret_maybenull_
#define _Ret_z_
#define _Ret_range_(a, b)
#define _Must_inspect_result_
#define _Check_return_
#define _Success_(x)
#define _Field_size_(n)
#define _Field_size_opt_(n)
#define _Field_size_bytes_(n)
#define _Field_size_bytes_opt_(n)
#define _Field_range_(a, b)
#define _Printf_format_string_
#define _Null_terminated_
#define _NullNull_terminated_
#define _Pre_
#define _Post_
#define _Pre_notnull_
#define _Post_invalid_
#define _Post_writable_byte_size_(n)
#define _Post_maybenull_
#define _Releases_lock_(x)
#define _Acquires_lock_(x)
#define _Requires_lock_held_(x)
#define _Requires_lock_not_held_(x)
#define _Releases_exclusive_lock_(x)
#define _Acquires_exclusive_lock_(x)
#define _Guarded_by_(x)
#define _Interlocked_
#define _Interlocked_operand_
#define _Use_decl_annotations_
#define _Analysis_assume_(x)
#define _Function_class_(x)
#define _Dispatch_type_(x)
#define _IRQL_requires_(x)
#define _IRQL_requires_max_(x)
#define _IRQL_requires_min_(x)
#define _IRQL_requires_same_
#define _IRQL_raises_(x)
#define _IRQL_saves_
#define _IRQL_restores_
#define _IRQL_saves_global_(k, x)
#define _IRQL_restores_global_(k, x)
#define _IRQL_always_function_max_(x)
#define _IRQL_always_function_min_(x)
#define _IRQL_requires_min_(x)
#define _IRQL_uses_cancel_
#define _IRQL_is_cancel_
#define _Kernel_clear_do_init_(x)
#define _Kernel_float_used_
#define _Kernel_requires_resource_held_(x)
#define _Kernel_requires_resource_not_held_(x)
#define _Kernel_acquires_resource_(x)
#define _Kernel_releases_resource_(x)
#define _When_(c, a)
#define _At_(t, a)
#define _Out_range_(a, b)
#define _In_range_(a, b)
#define _Strict_type_match_
#define _Reserved_
#define _Frees_ptr_
#define _Frees_ptr_opt_
#define _Post_ptr_invalid_
#define _Notliteral_
#define _Literal_
#define _Maybe_raises_SEH_exception_
#define _Raises_SEH_exception_
#define _Points_to_data_
#define _Readable_bytes_(n)
#define _Writable_bytes_(n)
#define _Inexpressible_(x)
#define _Always_(x)
#define _On_failure_(x)
#define _Return_type_success_(x)
#define _Post_equal_to_(x)
#define _Post_satisfies_(x)
#define _Pre_satisfies_(x)
#define _Struct_size_bytes_(x)
#define __drv_aliasesMem
#define __drv_allocatesMem(k)
#define __drv_freesMem(k)
#define __drv_when(c, a)
#define __drv_maxIRQL(x)
#define __drv_minIRQL(x)
#define __drv_requiresIRQL(x)
#define __drv_setsIRQL(x)
#define __drv_savesIRQL
#define __drv_restoresIRQL
#define __drv_savesIRQLGlobal(k, x)
#define __drv_restoresIRQLGlobal(k, x)
#define __drv_dispatchType(x)
#define __drv_functionClass(x)
#define __drv_sameIRQL
#define __drv_useCancelIRQL
#define __drv_isCancelIRQL
#define __drv_clearDoInit(x)
#define __drv_strictTypeMatch(x)
#define __drv_reportError(x)
#define __drv_inTry
/* Old-style (pre-SAL 2) annotations. libstdc++ uses __in/__out as parameter
 * names, so they are defined for C only; C++ sources must use the SAL 2 forms. */
#ifndef __cplusplus
#define __in
#define __in_opt
#define __out
#define __out_opt
#define __inout
#define __inout_opt
#define __in_bcount(n)
#define __out_bcount(n)
#define __in_ecount(n)
#define __out_ecount(n)
#define __deref_out
#endif
#define __checkReturn

/* MSVC-isms that appear in driver sources. */
#define __pragma(x)
#ifndef __forceinline
#define __forceinline inline __attribute__((always_inline))
#endif

/* More of the annotations the WDK's and SDK's samples use (analysis only, like the rest). */
#define _Acquires_shared_lock_(...)
#define _Analysis_mode_(...)
#define _Analysis_noreturn_
#define _At_buffer_(...)
#define _Deref_in_range_(...)
#define _Deref_out_opt_
#define _Deref_post_z_
#define _Deref_pre_z_
#define _Enum_is_bitflag_
#define _Field_size_bytes_part_(...)
#define _Field_size_part_(...)
#define _Field_z_
#define _In_reads_opt_z_(...)
#define _In_reads_or_z_(...)
#define _In_reads_to_ptr_(...)
#define _In_reads_z_(...)
#define _Inout_opt_z_
#define _Inout_updates_all_(...)
#define _Inout_updates_all_opt_(...)
#define _Inout_updates_bytes_all_(...)
#define _Inout_updates_bytes_all_opt_(...)
#define _Inout_updates_bytes_opt_(...)
#define _Inout_updates_z_(...)
#define _Kernel_IoGetDmaAdapter_
#define _Kernel_float_restored_
#define _Kernel_float_saved_
#define _Maybevalid_
#define _Notvalid_
#define _Out_writes_all_(...)
#define _Out_writes_all_opt_(...)
#define _Out_writes_bytes_all_(...)
#define _Out_writes_bytes_all_opt_(...)
#define _Out_writes_opt_z_(...)
#define _Out_writes_to_opt_(...)
#define _Outptr_opt_result_maybenull_
#define _Outptr_result_buffer_(...)
#define _Outptr_result_nullonfailure_
#define _Outref_
#define _Outref_result_maybenull_
#define _Post_defensive_
#define _Post_notnull_
#define _Post_null_
#define _Post_readable_size_(...)
#define _Post_valid_
#define _Post_writable_size_(...)
#define _Post_z_
#define _Pre_defensive_
#define _Pre_maybenull_
#define _Pre_null_
#define _Pre_readable_size_(...)
#define _Pre_valid_
#define _Pre_writable_size_(...)
#define _Pre_z_
#define _Readable_elements_(...)
#define _Releases_shared_lock_(...)
#define _Result_nullonfailure_
#define _Ret_maybenull_z_
#define _Ret_notnull_
#define _Ret_writes_bytes_(...)
#define _Ret_writes_bytes_maybenull_(...)
#define _Scanf_format_string_
#define _Valid_
#define _Writable_elements_(...)

#endif
